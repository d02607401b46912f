// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Validation, type IValidationFailure } from "@twin.org/core";
import type { ITaskPage, ITaskQuery } from "../../contracts/ITaskQuery.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { IPostgreSqlBackendConfig } from "../../models/IPostgreSqlBackendConfig.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type {
	IClaimResult,
	ISettleDone,
	ITaskSource,
	QueuedTask
} from "../../contracts/ITaskSource.js";
import { NATIVE_CLAIM_POLICY } from "./nativeClaimPolicy.js";
import { resolvePostgresConfig, validatePostgresConfig } from "../../config/postgresConfig.js";
import type { IPostgresParts } from "./IPostgresParts.js";
import { buildPostgresParts } from "./postgresParts.js";
import type { ScheduleTable } from "./scheduleTable.js";

/**
 * The native PostgreSQL backend: tasks in one table shared by any number of nodes, every state
 * change one conditional statement. This class hands each call to one of its parts:
 * - the session (PostgresSession): connections, lease owner id, heartbeat timer, LISTEN/NOTIFY;
 * - the claims (TaskClaims): batch claims held here until started, claims by id, give-backs;
 * - the leases (LeaseKeeper): renewed for every held task in one statement per heartbeat; a task
 *   whose lease expired is claimable by any node;
 * - the settles (TaskSettles): fenced by lease owner and claim, batched per event-loop turn;
 * - the plain reads and writes (TaskTable);
 * - the held tasks (HeldTasks), each with its phase; and one StatementRunner for every statement.
 * buildPostgresParts builds them and wires them to one another.
 */
export class PostgresTaskSource implements ITaskSource {
	/**
	 * Runtime name for the class: the source of its errors and log entries.
	 */
	public static readonly CLASS_NAME = "PostgresTaskSource";

	/**
	 * fetch claims what it returns.
	 */
	public readonly claimPolicy = NATIVE_CLAIM_POLICY;

	/**
	 * The schedules, in the table every node reads (ScheduleTable).
	 */
	public readonly schedules: ScheduleTable;

	/**
	 * The parts that do the work.
	 * @internal
	 */
	private readonly _parts: IPostgresParts;

	/**
	 * Create a new PostgresTaskSource.
	 * @param config The backend config (config.postgresql), validated here.
	 * @param log The log; create it with the source "PostgresTaskSource" so its messages resolve to
	 * the keys under warn.postgresTaskSource.
	 * @param overrides Shorter lease, heartbeat and connect timeout than the config allows, for
	 * tests.
	 * @param overrides.leaseTimeout Lease length, ms.
	 * @param overrides.heartbeatInterval Heartbeat period, ms.
	 * @param overrides.connectTimeout Seconds to wait for a connection (default: the config's).
	 * @param overrides.localQueueTtl How long a fetched task may wait unstarted, ms (default 5 min).
	 * @param overrides.statementDeadline How long a statement may go unanswered, ms (default: the
	 * lease timeout, at least 5 s).
	 * @throws ValidationError naming each bad field.
	 * @internal overrides
	 */
	constructor(
		config: IPostgreSqlBackendConfig,
		log?: TaskLog,
		overrides?: {
			leaseTimeout?: number;
			heartbeatInterval?: number;
			connectTimeout?: number;
			localQueueTtl?: number;
			statementDeadline?: number;
		}
	) {
		const failures: IValidationFailure[] = [];
		validatePostgresConfig(config, failures);
		Validation.asValidationError(PostgresTaskSource.CLASS_NAME, "config.postgresql", failures);
		const { connectTimeout, localQueueTtl, statementDeadline, ...lease } = overrides ?? {};
		this._parts = buildPostgresParts(
			PostgresTaskSource.CLASS_NAME,
			{ ...resolvePostgresConfig(config), ...lease },
			log,
			{ connectTimeout, localQueueTtl, statementDeadline }
		);
		this.schedules = this._parts.schedules;
	}

	/**
	 * The lease owner id of the current session (a new one per open).
	 * @returns The id, empty while closed.
	 */
	public get instanceId(): string {
		return this._parts.session.owner;
	}

	/**
	 * Connect, create or upgrade the table, LISTEN for wake-ups, read the paused types and start
	 * the heartbeat.
	 * @param wake Called with a task type when another instance created or retried a task of it.
	 * @param paused Called when a type was paused or resumed (a node's notice, or the paused table
	 * read at open or after a lost LISTEN).
	 * @param aborted Called when a task this session holds was asked to stop (a notice, or found
	 * at a heartbeat).
	 * @throws GeneralError connectFailed naming host, port, user and database (never the password).
	 */
	public open(
		wake: (type: string) => void,
		paused?: (type: string, paused: boolean) => void,
		aborted?: (id: string, reason: string) => void
	): Promise<void> {
		return this._parts.session.open(wake, paused, aborted);
	}

	/**
	 * Give back the tasks claimed by fetch and never started, stop the heartbeat, UNLISTEN and close
	 * the connections. Running tasks keep their lease until it expires. Reads and writes still work
	 * afterwards (as before open), on a pool that lets its connections go when idle.
	 */
	public close(): Promise<void> {
		return this._parts.session.close();
	}

	/**
	 * Claim a batch of the type's due tasks for this instance (TaskClaims.fetch).
	 * @param type The task type.
	 * @param threadId The thread.
	 * @param limit How many at most.
	 * @param startedAt Unused: leases decide recovery.
	 * @param serial One task at a time across all nodes.
	 * @returns The tasks and whether they were all the due ones.
	 */
	public fetch(
		type: string,
		threadId: string,
		limit: number,
		startedAt: number,
		serial?: boolean
	): Promise<{ tasks: QueuedTask[]; complete: boolean }> {
		return this._parts.claims.fetch(type, threadId, limit, serial);
	}

	/**
	 * Give back tasks claimed by fetch and not started: pending again for any instance.
	 * @param ids The task ids.
	 */
	public unclaim(ids: string[]): Promise<void> {
		return this._parts.claims.unclaim(ids);
	}

	/**
	 * Claim a task to run it now (TaskClaims.claim).
	 * @param id The task id.
	 * @param threadId The thread.
	 * @param startedAt Unused: leases decide recovery.
	 * @param serial One task at a time across all nodes.
	 * @returns The claim result.
	 */
	public claim(
		id: string,
		threadId: string,
		startedAt: number,
		serial?: boolean
	): Promise<IClaimResult> {
		return this._parts.claims.claim(id, threadId, serial);
	}

	/**
	 * Hand out a task claimed by fetch and held here unstarted whose lease is fresh, synchronously.
	 * @param id The task id.
	 * @returns The task, or undefined when claim() must decide.
	 */
	public claimHeld(id: string): BackgroundTask | undefined {
		return this._parts.claims.claimHeld(id);
	}

	/**
	 * Record the outcome of a claimed task (TaskSettles.settle).
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param claimedAt The claim's dateModified when this repeats a failed write.
	 * @returns False when the task was removed or the lease lost to another instance.
	 */
	public settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		return this._parts.settles.settle(task, remove, claimedAt);
	}

	/**
	 * settle() of a first write, its outcome told to `done` (ITaskSource.settleThen).
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param done Told the outcome.
	 */
	public settleThen(task: BackgroundTask, remove: boolean, done: ISettleDone): void {
		this._parts.settles.settleThen(task, remove, done);
	}

	/**
	 * Write a running task's progress, fenced by lease owner and claim (TaskSettles.writeProgress).
	 * @param id The task id.
	 * @param progress The progress, a JSON value.
	 * @returns False when the run no longer holds the claim.
	 */
	public writeProgress(id: string, progress: unknown): Promise<boolean> {
		return this._parts.settles.writeProgress(id, progress);
	}

	/**
	 * Forget a running claim: its lease expires and any instance recovers it.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._parts.settles.release(id);
	}

	/**
	 * Insert a task and notify every instance (TaskTable.insert).
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with the same type and key.
	 */
	public insert(task: BackgroundTask): Promise<string> {
		return this._parts.table.insert(task);
	}

	/**
	 * Insert tasks, stored whole or not at all (TaskTable.insertMany).
	 * @param tasks The tasks.
	 */
	public insertMany(tasks: BackgroundTask[]): Promise<void> {
		return this._parts.table.insertMany(tasks);
	}

	/**
	 * Count tasks per type and status: one grouped query.
	 * @param type Only this type.
	 * @param maxScan Unused: the database counts.
	 * @returns The counts; always complete.
	 */
	public counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		return this._parts.table.counts(type);
	}

	/**
	 * Take one start of a rate-limited type from the counter every node shares.
	 * @param type The task type.
	 * @param max Starts per window.
	 * @param per The window, ms.
	 * @returns 0 when granted, else the ms until the window ends (at least 1).
	 */
	public takeStart(type: string, max: number, per: number): Promise<number> {
		return this._parts.table.takeStart(type, max, per);
	}

	/**
	 * Pause a type for every node: stored in the paused table, which every claim reads, and
	 * announced to every instance.
	 * @param type The task type.
	 */
	public pause(type: string): Promise<void> {
		return this._parts.pauses.pause(type);
	}

	/**
	 * Resume a type for every node, and announce it to every instance.
	 * @param type The task type.
	 */
	public resume(type: string): Promise<void> {
		return this._parts.pauses.resume(type);
	}

	/**
	 * The stored paused types.
	 * @returns The types, sorted.
	 */
	public pausedTypes(): Promise<string[]> {
		return this._parts.pauses.list();
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns The task or undefined.
	 */
	public get(id: string): Promise<BackgroundTask | undefined> {
		return this._parts.table.get(id);
	}

	/**
	 * Make a pending task due now or give a failed task another attempt, and notify every instance.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The task as written, or undefined when it could not be retried.
	 */
	public retry(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		return this._parts.table.retry(id, nowMs);
	}

	/**
	 * Put failed tasks back to pending, oldest failure first, and notify every instance: one
	 * statement.
	 * @param type Only this type, when set.
	 * @param limit At most this many, when set.
	 * @param nowMs The current time.
	 * @returns The tasks put back.
	 */
	public retryFailed(
		type: string | undefined,
		limit: number | undefined,
		nowMs: number
	): Promise<QueuedTask[]> {
		return this._parts.table.retryFailed(type, limit, nowMs);
	}

	/**
	 * Cancel a task while it is pending.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The cancelled task, or undefined when not pending.
	 */
	public cancel(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		return this._parts.table.cancel(id, nowMs);
	}

	/**
	 * Ask the node running a processing task to stop it (AbortRequests).
	 * @param id The task id.
	 * @param reason The reason.
	 * @returns True when the task was processing.
	 */
	public requestAbort(id: string, reason: string): Promise<boolean> {
		return this._parts.aborts.request(id, reason);
	}

	/**
	 * Remove a task whatever its status; a running one is not written back when it finishes.
	 * @param id The task id.
	 */
	public remove(id: string): Promise<void> {
		return this._parts.table.remove(id);
	}

	/**
	 * A page of tasks (TaskTable.query).
	 * @param query The filters, the order and the page.
	 * @returns The page and the next cursor.
	 */
	public query(query: ITaskQuery): Promise<ITaskPage> {
		return this._parts.table.query(query);
	}

	/**
	 * Remove final tasks whose retain date has passed, in one statement.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	public sweep(nowMs: number): Promise<number> {
		return this._parts.table.sweep(nowMs);
	}

	/**
	 * Nothing to adopt: every node of the native backend shares the thread id and takes over an
	 * expired lease by itself.
	 * @param fromThreadId The departed instance's id.
	 * @param toThreadId This instance's id.
	 * @param nowMs The current time.
	 * @returns No task.
	 */
	public async adopt(
		fromThreadId: string,
		toThreadId: string,
		nowMs: number
	): Promise<BackgroundTask[]> {
		return [];
	}

	/**
	 * One due pending task of the thread per type, among the 100 due first.
	 * @param threadId The thread.
	 * @param nowMs The current time.
	 * @returns One task id per type.
	 */
	public dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]> {
		return this._parts.table.dueSample(threadId, nowMs);
	}
}
