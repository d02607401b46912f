// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { GeneralError, Validation, type IValidationFailure } from "@twin.org/core";
import type { SortDirection } from "@twin.org/entity";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { IPostgreSqlBackendConfig } from "../../models/IPostgreSqlBackendConfig.js";
import { cancelled } from "../../domain/rules.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { IClaimResult, ITaskSource, QueuedTask } from "../../contracts/ITaskSource.js";
import { HeldTasks } from "./heldTasks.js";
import type { IResolvedPostgresConfig } from "../../config/IResolvedPostgresConfig.js";
import type { ISettleEntry } from "./ISettleEntry.js";
import { LeaseKeeper } from "./leaseKeeper.js";
import { resolvePostgresConfig, validatePostgresConfig } from "../../config/postgresConfig.js";
import { textArray } from "./postgresConnection.js";
import { PostgresPools } from "./postgresPools.js";
import { PostgresStatements } from "./postgresStatements.js";
import {
	TASK_COLUMNS,
	byClaimOrder,
	fromRow,
	fromValues,
	jsonParameter,
	settleEntry,
	taskRecord,
	toQueued,
	type TaskRow
} from "./rowMapping.js";
import { SettleBatch } from "./settleBatch.js";
import { UNIQUE_VIOLATION } from "./postgresNames.js";
import { StatementRunner, type RunStatement } from "./statementRunner.js";

/**
 * The default page size of query(), as TWIN's PostgreSQL connector.
 */
const DEFAULT_PAGE_SIZE = 40;

/**
 * The most tasks insertMany sends in one statement (one JSON parameter): about 2 MB of JSON for
 * small payloads, so a very large batch never builds one huge string.
 */
const INSERT_MANY_CHUNK = 10_000;

/**
 * A row of the counts statements (count(*) is a BIGINT: a string).
 */
type CountRow = { type: string; status: string; count: string | number };

/**
 * How long a task claimed by fetch may wait here unstarted before the heartbeat gives it back
 * (as graphile-worker's local queue TTL): a scheduler that fetched more than it runs soon never
 * holds tasks from other nodes for long. A task given back and then passed to claim is claimed
 * again in SQL if it is still claimable.
 */
const LOCAL_QUEUE_TTL_MS = 300_000;

/**
 * The native PostgreSQL backend: tasks in one table shared by any number of nodes, every state
 * change one conditional statement.
 *
 * Claims. `fetch` claims a batch of a type's due tasks for this instance in one statement
 * (FOR UPDATE SKIP LOCKED, so concurrent batches never take the same row), marking them
 * processing with this instance's id as lease owner and a lease that ends leaseTimeout after the
 * database's clock. The rows are held here until `claim` hands them out (no SQL) or `unclaim` /
 * `close` give back those never started. At most localQueueSize tasks of a type wait here, and
 * none longer than the local queue's time to live (5 minutes): the heartbeat gives them back.
 *
 * Leases. A heartbeat renews, in one statement, the lease of every task this instance holds
 * (waiting or running, not released); a task whose lease expired is claimable by any node. When
 * the heartbeat finds a lease gone, it logs it once; a waiting task whose lease is gone is dropped,
 * and a waiting task whose lease may have run out unnoticed (the heartbeat could not reach the
 * database) is confirmed in SQL before it is handed out.
 *
 * Settles. Fenced by lease owner, status processing and the claim's dateModified, so a node that
 * lost a lease writes nothing over the new owner's work; the settles of one event-loop turn go
 * out as one statement (SettleBatch).
 *
 * Wake-ups. `insert` and `retry` notify the table's channel in the same statement; every instance
 * LISTENs on it (a connection of its own) and calls wake(type).
 */
/**
 * The shortest time a claim, settle, heartbeat or unclaim statement is waited for (StatementRunner.bounded);
 * the lease timeout when longer.
 */
const MIN_STATEMENT_DEADLINE_MS = 5000;

export class PostgresTaskSource implements ITaskSource {
	/**
	 * Runtime name for the class: the source of its errors and log entries.
	 */
	public static readonly CLASS_NAME = "PostgresTaskSource";

	/**
	 * The types fetched as serial: their settles notify the other instances.
	 * @internal
	 */
	private readonly _serialTypes = new Set<string>();

	/**
	 * fetch claims what it returns.
	 */
	public readonly claimsOnFetch = true;

	/**
	 * The resolved config.
	 * @internal
	 */
	private readonly _config: IResolvedPostgresConfig;

	/**
	 * How long a fetched task may wait unstarted, ms.
	 * @internal
	 */
	private readonly _localQueueTtl: number;

	/**
	 * The statements for the table.
	 * @internal
	 */
	private readonly _statements: PostgresStatements;

	/**
	 * The log.
	 * @internal
	 */
	private readonly _log?: TaskLog;

	/**
	 * The connections.
	 * @internal
	 */
	private readonly _pools: PostgresPools;

	/**
	 * Runs every statement.
	 * @internal
	 */
	private readonly _runner: StatementRunner;

	/**
	 * This session's lease owner id.
	 * @internal
	 */
	private _owner = "";

	/**
	 * The tasks this instance holds.
	 * @internal
	 */
	private readonly _held = new HeldTasks();

	/**
	 * Renews and checks the leases of the held tasks.
	 * @internal
	 */
	private readonly _leases: LeaseKeeper;

	/**
	 * The settles waiting to be written.
	 * @internal
	 */
	private readonly _batch: SettleBatch;

	/**
	 * The heartbeat timer.
	 * @internal
	 */
	private _heartbeat?: NodeJS.Timeout;

	/**
	 * A heartbeat in flight.
	 * @internal
	 */
	private _beating?: Promise<void>;

	/**
	 * The wake-up callback of this session.
	 * @internal
	 */
	private _wake: (type: string) => void = () => {};

	/**
	 * The types fetched this session: woken when the LISTEN comes back after a drop.
	 * @internal
	 */
	private readonly _types = new Set<string>();

	/**
	 * An open in progress.
	 * @internal
	 */
	private _opening?: Promise<void>;

	/**
	 * Fetches in flight: close waits for them, so what they claim is given back.
	 * @internal
	 */
	private readonly _fetching = new Set<Promise<unknown>>();

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
	 * lease timeout, at least MIN_STATEMENT_DEADLINE_MS).
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
		this._config = { ...resolvePostgresConfig(config), ...lease };
		this._localQueueTtl = localQueueTtl ?? LOCAL_QUEUE_TTL_MS;
		this._statements = new PostgresStatements(this._config.tableName);
		this._log = log;
		this._pools = new PostgresPools(
			PostgresTaskSource.CLASS_NAME,
			this._config,
			this._statements.channel,
			log,
			connectTimeout ?? this._config.connectTimeout
		);
		this._runner = new StatementRunner(
			PostgresTaskSource.CLASS_NAME,
			this._pools,
			statementDeadline ?? Math.max(MIN_STATEMENT_DEADLINE_MS, this._config.leaseTimeout)
		);
		this._leases = new LeaseKeeper(
			this._held,
			this._runner,
			this._statements,
			this._config.leaseTimeout,
			log
		);
		this._batch = new SettleBatch(async entries => this.writeSettles(entries));
	}

	/**
	 * The lease owner id of the current session (a new one per open).
	 * @returns The id, empty while closed.
	 */
	public get instanceId(): string {
		return this._owner;
	}

	/**
	 * Connect, create or upgrade the table, LISTEN for wake-ups and start the heartbeat.
	 * @param wake Called with a task type when another instance created or retried a task of it.
	 * @throws GeneralError connectFailed naming host, port, user and database (never the password).
	 */
	public async open(wake: (type: string) => void): Promise<void> {
		this._wake = wake;
		if (this._pools.session) {
			return;
		}
		this._opening ??= this.connect().finally(() => {
			this._opening = undefined;
		});
		await this._opening;
	}

	/**
	 * Give back the tasks claimed by fetch and never started, stop the heartbeat, UNLISTEN and close
	 * the connections. Running tasks keep their lease until it expires. Reads and writes still work
	 * afterwards (as before open), on a pool that lets its connections go when idle.
	 */
	public async close(): Promise<void> {
		await this._opening?.catch(() => undefined);
		await this._pools.closeIdle();
		if (!this._pools.session) {
			return;
		}
		clearInterval(this._heartbeat);
		this._heartbeat = undefined;
		await this._beating;
		await Promise.allSettled([...this._fetching]);
		await this._batch.drain();
		const waiting = this._held.waiting();
		try {
			await this.unclaim(waiting);
		} catch (err) {
			this._log?.log("warn", "unclaimFailed", { count: waiting.length }, err);
		}
		this._held.clear();
		this._owner = "";
		await this._pools.closeSession();
	}

	/**
	 * Connect, make the table ready, LISTEN and start the heartbeat.
	 * @internal
	 */
	private async connect(): Promise<void> {
		this._owner = randomUUID();
		try {
			await this._pools.openSession(payload => this.notified(payload));
		} catch (err) {
			this._owner = "";
			throw err;
		}
		this._types.clear();
		this._heartbeat = setInterval(() => {
			this._beating ??= this.beat().finally(() => {
				this._beating = undefined;
			});
		}, this._config.heartbeatInterval);
		this._heartbeat.unref();
	}

	/**
	 * Claim a batch of the type's due tasks for this instance, earliest due first; at most
	 * localQueueSize of a type wait here unstarted.
	 * @param type The task type.
	 * @param threadId The thread.
	 * @param limit How many at most.
	 * @param startedAt Unused: leases decide recovery.
	 * @param serial One task at a time across all nodes (statements.fetchSerial).
	 * @returns The tasks and whether they were all the due ones.
	 */
	public async fetch(
		type: string,
		threadId: string,
		limit: number,
		startedAt: number,
		serial?: boolean
	): Promise<{ tasks: QueuedTask[]; complete: boolean }> {
		this._runner.assertOpen();
		this._types.add(type);
		if (serial) {
			this._serialTypes.add(type);
		}
		const n = Math.min(
			serial ? 1 : limit,
			this._config.localQueueSize - this._held.waitingCount(type)
		);
		if (n <= 0) {
			return { tasks: [], complete: false };
		}
		const owner = this._owner;
		const leaseAt = performance.now();
		const batch = (async () => {
			const now = new Date().toISOString();
			const claimed = serial
				? (
						await this.serially(type, this._statements.fetchSerial, [
							type,
							threadId,
							now,
							owner,
							this._config.leaseTimeout
						])
					).map(fromRow)
				: await this.claimBatch([type, threadId, n, now, owner, this._config.leaseTimeout]);
			const fetched: BackgroundTask[] = [];
			for (const task of claimed.sort(byClaimOrder)) {
				const running = this._held.get(task.id);
				if (
					running?.owner === owner &&
					(running.phase === "running" || running.phase === "lost" || running.phase === "removed")
				) {
					// Running here already: its lease lapsed (a stalled heartbeat) and this fetch took
					// it again. The run goes on under the new claim; it is not queued a second time.
					this._held.reclaimed(running, task.dateModified, leaseAt);
					continue;
				}
				this._held.add(task, owner, leaseAt, true);
				fetched.push(task);
			}
			return { tasks: fetched.map(toQueued), complete: claimed.length < n };
		})();
		// close() waits for it, so the tasks it claims are given back.
		const settledBatch = batch.then(
			() => undefined,
			() => undefined
		);
		this._fetching.add(settledBatch);
		try {
			return await batch;
		} finally {
			this._fetching.delete(settledBatch);
		}
	}

	/**
	 * Run the batch claim (statements.fetch) on the claims' connection, its rows read as values.
	 * @param params The statement's parameters.
	 * @returns The claimed tasks.
	 * @internal
	 */
	private async claimBatch(params: (string | number)[]): Promise<BackgroundTask[]> {
		const rows = await this._runner.values(this._statements.fetch, params, {
			idempotent: false,
			on: "claims",
			deadline: "fetch"
		});
		return rows.map(fromValues);
	}

	/**
	 * Give back tasks claimed by fetch and not started: pending again for any instance.
	 * @param ids The task ids.
	 */
	public async unclaim(ids: string[]): Promise<void> {
		const open = this._runner.isOpen;
		const given: string[] = [];
		for (const id of ids) {
			const held = this._held.get(id);
			if (held?.phase === "waiting" && held.owner === this._owner) {
				this._held.delete(id);
				given.push(id);
			}
		}
		if (!open || given.length === 0) {
			return;
		}
		// Idempotent, but not repeated: what is not given back here expires with its lease.
		await this._runner.run(
			this._statements.unclaim,
			[textArray(given), this._owner, new Date().toISOString()],
			{ idempotent: true, repeat: false, on: "session", deadline: "unclaim" }
		);
	}

	/**
	 * Claim a task to run it now: one claimed by fetch costs nothing (its lease confirmed in SQL
	 * when the heartbeat may have missed its expiry); any other is claimed by one conditional
	 * UPDATE.
	 * @param id The task id.
	 * @param threadId The thread.
	 * @param startedAt Unused: leases decide recovery.
	 * @param serial One task at a time across all nodes (statements.claimSerial).
	 * @returns The claim result.
	 */
	public async claim(
		id: string,
		threadId: string,
		startedAt: number,
		serial?: boolean
	): Promise<IClaimResult> {
		this._runner.assertOpen();
		const fetched = await this.takeFetched(id);
		if (fetched !== undefined) {
			return fetched;
		}
		const owner = this._owner;
		const leaseAt = performance.now();
		const now = new Date().toISOString();
		const rows = serial
			? await this.serially(await this.typeOf(id), this._statements.claimSerial, [
					id,
					threadId,
					now,
					owner,
					this._config.leaseTimeout
				])
			: await this._runner.run<TaskRow[]>(
					this._statements.claim,
					[id, threadId, now, owner, this._config.leaseTimeout],
					{ idempotent: false, on: "session", deadline: "claim" }
				);
		if (rows.length > 0) {
			const task = fromRow(rows[0]);
			this._held.add(task, owner, leaseAt, false);
			return { claimed: task };
		}
		// A fetch of this instance may have taken the row first (a delayed task that came due,
		// claimed by the scheduler's timer while a poll fetched it): its task is held here once the
		// fetch ends, and is handed out now, or it would wait unstarted.
		await Promise.allSettled([...this._fetching]);
		const taken = await this.takeFetched(id);
		if (taken?.claimed) {
			return taken;
		}
		const pending = await this._runner.run<TaskRow[]>(this._statements.pendingOf, [id, threadId], {
			idempotent: true,
			repeat: false,
			on: "session"
		});
		const later = pending.length > 0 ? (fromRow(pending[0]) as QueuedTask) : undefined;
		if (later?.dateNextProcess && Date.parse(later.dateNextProcess) > Date.now()) {
			return { pendingLater: later };
		}
		return {};
	}

	/**
	 * Hand out a task claimed by fetch and held here unstarted whose lease is fresh, synchronously
	 * (see ITaskSource.claimHeld); undefined for any other case, which claim() decides.
	 * @param id The task id.
	 * @returns The task, or undefined.
	 */
	public claimHeld(id: string): BackgroundTask | undefined {
		const held = this._held.get(id);
		if (!this._runner.isOpen || held?.phase !== "waiting" || !this._leases.isFresh(held)) {
			return undefined;
		}
		return this._held.start(held);
	}

	/**
	 * Hand out a task claimed by fetch and held here unstarted (its lease confirmed in SQL when the
	 * heartbeat may have missed its expiry).
	 * @param id The task id.
	 * @returns The claim result when the task is held here (empty when it runs here already or its
	 * lease is gone), undefined when it is not held.
	 * @internal
	 */
	private async takeFetched(id: string): Promise<IClaimResult | undefined> {
		const held = this._held.get(id);
		if (held?.phase === "waiting") {
			if (this._leases.isFresh(held) || (await this._leases.reconfirm(id, held))) {
				return { claimed: this._held.start(held) };
			}
			// Its lease is gone (reconfirm dropped it).
			return undefined;
		}
		if (held) {
			// Running here already (or its lease lost while it runs): never a second run here.
			return {};
		}
		return undefined;
	}

	/**
	 * Record the outcome of a claimed task: one fenced write (or removal) in the current batch.
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param claimedAt The claim's dateModified when this repeats a failed write.
	 * @returns False when the task was removed or the lease lost to another instance.
	 */
	public async settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		this._runner.assertOpen();
		const held = this._held.get(task.id);
		if (held?.phase === "removed") {
			this._held.delete(task.id);
			return false;
		}
		const fence = claimedAt ?? held?.claimedAt;
		if (fence === undefined) {
			this._log?.log("warn", "settleNotHeld", { id: task.id, type: task.type });
			return false;
		}
		const entry = settleEntry(task, held?.owner ?? this._owner, fence, remove);
		if (held) {
			this._held.beginSettle(held);
		}
		let written: boolean;
		try {
			written = await this._batch.add(entry);
		} catch (err) {
			if (held) {
				this._held.settleFailed(held);
			}
			throw err;
		}
		if (!written && claimedAt !== undefined) {
			// A repeat of a write that failed: the failed one may have committed before it threw.
			written = await this.alreadySettled(task, remove);
		}
		const standing = held ? this._held.endSettle(task.id, held) : "held";
		if (!written && standing === "held") {
			this._log?.log("warn", "leaseLost", { id: task.id, type: task.type });
		}
		if (this._serialTypes.has(task.type)) {
			// The type's next task may be claimed now, on any node.
			this.notifyType(task.type);
		}
		return written;
	}

	/**
	 * Forget a running claim: the heartbeat stops renewing it, so its lease expires and another
	 * instance (or this one) recovers it; the row stays processing meanwhile.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._held.delete(id);
	}

	/**
	 * Insert a task and notify every instance, in one statement. A task with a dedupKey is not
	 * inserted while a task of its type and key is pending or processing (statements.insertDedup:
	 * the dedup index decides atomically, across nodes); the id of that task is returned instead and
	 * nobody is notified. Written again when the connection is lost (idempotent: its ids are its own).
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with the same type and key.
	 */
	public async insert(task: BackgroundTask): Promise<string> {
		const values: unknown[] = TASK_COLUMNS.map(column => {
			const value = task[column];
			if (column === "payload" || column === "result" || column === "error") {
				return jsonParameter(value);
			}
			return value ?? null;
		});
		values.push(this._statements.channel, this._owner);
		return this._runner.unit(
			async run => {
				if (task.dedupKey !== undefined) {
					return this.insertDeduplicated(run, values);
				}
				await run(this._statements.insert, values);
				return task.id;
			},
			{ idempotent: true, ifStored: async () => this.storedAs(task.id, task.id) }
		);
	}

	/**
	 * Insert a task with a dedupKey unless a task of its type and key is active (statements.insertDedup).
	 * @param run Runs the statements.
	 * @param params The insert's parameters.
	 * @returns The id of the task stored, or of the active task with the same type and key.
	 * @internal
	 */
	private async insertDeduplicated(run: RunStatement, params: unknown[]): Promise<string> {
		const rows = await run<{ id: string }[]>(this._statements.insertDedup, params);
		if (rows.length > 0) {
			return rows[0].id;
		}
		// The active task it conflicted with committed while the statement ran (not in its
		// snapshot): the upsert returns it, or inserts if it has ended since.
		const upserted = await run<{ id: string }[]>(this._statements.insertDedupUpsert, params);
		return upserted[0].id;
	}

	/**
	 * Whether a task is stored, as the ifStored of a create.
	 * @param id The task id.
	 * @param value What the create returns then.
	 * @returns The value when stored.
	 * @internal
	 */
	private async storedAs<T>(id: string, value: T): Promise<{ value: T } | undefined> {
		return (await this.get(id)) === undefined ? undefined : { value };
	}

	/**
	 * Insert tasks (none with a dedupKey) and notify every instance once per type: one statement
	 * (the batch as one JSON parameter, statements.insertMany) per INSERT_MANY_CHUNK tasks, the
	 * chunks of a larger batch in one transaction, so the batch is stored whole or not at all. JSON
	 * columns are stored exactly as insert() stores them (rowMapping.jsonColumnValue). Written
	 * again when the connection is lost (idempotent: its ids are its own).
	 * @param tasks The tasks.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		if (tasks.length === 0) {
			return;
		}
		const statement = this._statements.insertMany;
		const chunks: string[] = [];
		for (let i = 0; i < tasks.length; i += INSERT_MANY_CHUNK) {
			chunks.push(JSON.stringify(tasks.slice(i, i + INSERT_MANY_CHUNK).map(taskRecord)));
		}
		const channel = this._statements.channel;
		await this._runner.unit(
			async run => {
				for (const chunk of chunks) {
					await run(statement, [chunk, channel, this._owner]);
				}
			},
			{
				idempotent: true,
				transaction: chunks.length > 1,
				ifStored: async () => this.storedAs(tasks[0].id, undefined)
			}
		);
	}

	/**
	 * Count tasks per type and status: one grouped query.
	 * @param type Only this type.
	 * @param maxScan Unused: the database counts.
	 * @returns The counts; always complete.
	 */
	public async counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		const rows =
			type === undefined
				? await this._runner.run<CountRow[]>(this._statements.counts, [], { idempotent: true })
				: await this._runner.run<CountRow[]>(this._statements.countsOfType, [type], {
						idempotent: true
					});
		const counts: { [type: string]: { [status: string]: number } } = {};
		for (const row of rows) {
			counts[row.type] ??= {};
			counts[row.type][row.status] = Number(row.count);
		}
		return { counts, complete: true };
	}

	/**
	 * Take one start of a rate-limited type from the counter every node shares: a fixed window of
	 * per ms on the database's clock, in a table beside the task table (statements.takeStart, one
	 * statement).
	 * @param type The task type.
	 * @param max Starts per window.
	 * @param per The window, ms.
	 * @returns 0 when granted, else the ms until the window ends (at least 1).
	 */
	public async takeStart(type: string, max: number, per: number): Promise<number> {
		const rows = await this._runner.run<{ granted: number | null; waitMs: string | number }[]>(
			this._statements.takeStart,
			[type, max, per],
			{ idempotent: false }
		);
		if (rows[0]?.granted !== null && rows[0]?.granted !== undefined) {
			return 0;
		}
		return Math.max(1, Number(rows[0]?.waitMs ?? per));
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns The task or undefined.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		const rows = await this._runner.run<TaskRow[]>(this._statements.get, [id], {
			idempotent: true
		});
		return rows.length > 0 ? fromRow(rows[0]) : undefined;
	}

	/**
	 * Make a pending task due now or give a failed task another attempt (rules.retriedNow), and
	 * notify every instance, in one statement.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The task as written, or undefined when it was neither pending nor failed, or failed
	 * with a dedupKey that an active task of its type holds.
	 */
	public async retry(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		let rows: TaskRow[];
		try {
			rows = await this._runner.run<TaskRow[]>(
				this._statements.retry,
				[id, new Date(nowMs).toISOString(), this._statements.channel, this._owner],
				{ idempotent: false }
			);
		} catch (err) {
			if (
				(err as { code?: string }).code === UNIQUE_VIOLATION &&
				(err as { constraint_name?: string }).constraint_name === this._statements.dedupIndex
			) {
				// A failed task with a dedupKey while another task of its type and key is active: it
				// stays failed (two active tasks with one key are what the key prevents).
				return undefined;
			}
			throw err;
		}
		return rows.length > 0 ? fromRow(rows[0]) : undefined;
	}

	/**
	 * Cancel a task while it is pending (rules.cancelled), removing it when its retainFor is 0
	 * (rules.removeOnSettle), in one statement.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The cancelled task (as cancelled, when removed), or undefined when not pending.
	 */
	public async cancel(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		const rows = await this._runner.run<TaskRow[]>(
			this._statements.cancel,
			[id, new Date(nowMs).toISOString(), nowMs],
			{ idempotent: false }
		);
		if (rows.length === 0) {
			return undefined;
		}
		const task = fromRow(rows[0]);
		return rows[0].removed === true ? cancelled(task, nowMs) : task;
	}

	/**
	 * Remove a task whatever its status; one held here is dropped, and a running one is not written
	 * back when it finishes.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this._runner.run(this._statements.remove, [id], { idempotent: true });
		this._held.markRemoved(id);
	}

	/**
	 * A page of tasks: both filters in SQL, sorted by the property then id, paged by offset (the
	 * cursor), as TWIN's connector pages; no cursor on the last page.
	 * @param type The type to match.
	 * @param status The status to match.
	 * @param sortProperty The property to sort by.
	 * @param sortDirection The direction.
	 * @param cursor The offset of the page, as a decimal string.
	 * @param pageSize The page size, default 40.
	 * @returns The page and the next cursor.
	 */
	public async query(
		type: string | undefined,
		status: string | undefined,
		sortProperty: keyof BackgroundTask,
		sortDirection: SortDirection,
		cursor: string | undefined,
		pageSize: number | undefined
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		const column = TASK_COLUMNS.find(c => c === sortProperty);
		if (!column) {
			throw new GeneralError(PostgresTaskSource.CLASS_NAME, "sortPropertyUnknown", {
				property: String(sortProperty)
			});
		}
		const size = pageSize ?? DEFAULT_PAGE_SIZE;
		const offset = /^\d+$/.test(cursor ?? "") ? Number(cursor) : 0;
		const params: unknown[] = [];
		if (type !== undefined) {
			params.push(type);
		}
		if (status !== undefined) {
			params.push(status);
		}
		params.push(size + 1, offset);
		const rows = await this._runner.run<TaskRow[]>(
			this._statements.query(type !== undefined, status !== undefined, column, sortDirection),
			params,
			{ idempotent: true }
		);
		const entities = rows.slice(0, size).map(fromRow);
		return rows.length > size ? { entities, cursor: String(offset + size) } : { entities };
	}

	/**
	 * Remove final tasks whose retain date has passed, in one statement.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	public async sweep(nowMs: number): Promise<number> {
		const result = await this._runner.run(this._statements.sweep, [nowMs], { idempotent: false });
		return result.count;
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
	public async dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]> {
		const rows = await this._runner.run<{ id: string; type: string }[]>(
			this._statements.dueSample,
			[threadId, new Date(nowMs).toISOString()],
			{ idempotent: true, repeat: false }
		);
		return rows.map(r => ({ id: r.id, type: r.type }));
	}

	/**
	 * Does storage already hold this settle's outcome: the row gone for a removal, or written with
	 * the settle's status and dateModified.
	 * @param task The settled task.
	 * @param remove Whether the settle removes the task.
	 * @returns True when the outcome is there.
	 * @internal
	 */
	private async alreadySettled(task: BackgroundTask, remove: boolean): Promise<boolean> {
		const current = await this.get(task.id);
		return remove
			? current === undefined
			: current?.status === task.status && current.dateModified === task.dateModified;
	}

	/**
	 * One heartbeat: LISTEN again if the connection dropped, give back the tasks waiting here past
	 * the local queue's time to live, then renew the lease of every task held (one statement).
	 * @internal
	 */
	private async beat(): Promise<void> {
		if (!this._runner.isOpen) {
			return;
		}
		try {
			if (await this._pools.ensureListening()) {
				for (const type of this._types) {
					this.wakeFor(type);
				}
			}
		} catch (err) {
			this._log?.log("warn", "listenFailed", { channel: this._statements.channel }, err);
		}
		const stale = this._held.waiting(performance.now() - this._localQueueTtl);
		if (stale.length > 0) {
			try {
				await this.unclaim(stale);
			} catch (err) {
				this._log?.log("warn", "unclaimFailed", { count: stale.length }, err);
			}
		}
		await this._leases.renew(this._owner);
	}

	/**
	 * Write a batch of settles: one statement, fenced per task; a batch of removals of this
	 * instance's claims (the common case, retainFor 0) as text arrays rather than JSON records.
	 * @param entries The settles.
	 * @returns The ids the fence kept out: neither written nor removed.
	 * @internal
	 */
	private async writeSettles(entries: ISettleEntry[]): Promise<Set<string>> {
		const owner = this._owner;
		const options = { idempotent: false, on: "session", deadline: "settle" } as const;
		let rows;
		if (entries.every(e => e.remove && e.owner === owner)) {
			rows = await this._runner.run<{ id: string }[]>(
				this._statements.settleRemovals,
				[textArray(entries.map(e => e.id)), textArray(entries.map(e => e.claimedAt)), owner],
				options
			);
		} else {
			const updates = entries.some(e => !e.remove);
			const removals = entries.some(e => e.remove);
			rows = await this._runner.run<{ id: string }[]>(
				this._statements.settle(updates, removals),
				[JSON.stringify(entries)],
				options
			);
		}
		return new Set(rows.map(r => r.id));
	}

	/**
	 * A notification arrived ("<sender>:<type>"): wake the scheduler for its type, unless this
	 * instance sent it (its own creates and retries reach its scheduler directly).
	 * @param payload The payload.
	 * @internal
	 */
	private notified(payload: string): void {
		const colon = payload.indexOf(":");
		if (colon >= 0 && payload.slice(0, colon) === this._owner) {
			return;
		}
		this.wakeFor(colon >= 0 ? payload.slice(colon + 1) : payload);
	}

	/**
	 * Run a claim of a serial type in a transaction that first takes the type's advisory lock, so
	 * its snapshot sees any claim of the type committed before it (statements.serialLock).
	 * @param type The task type (undefined: the task is gone, nothing to claim).
	 * @param statement The claim statement.
	 * @param params Its parameters.
	 * @returns The claimed rows.
	 * @internal
	 */
	private async serially(
		type: string | undefined,
		statement: string,
		params: (string | number)[]
	): Promise<TaskRow[]> {
		if (type === undefined) {
			return [];
		}
		// Bounded as a whole, the wait for the type's lock included.
		return this._runner.unit(
			async run => {
				await run(this._statements.serialLock, [this._statements.table, type]);
				return run<TaskRow[]>(statement, params);
			},
			{ idempotent: false, on: "session", transaction: true, deadline: "claim" }
		);
	}

	/**
	 * The type of a task.
	 * @param id The task id.
	 * @returns The type, or undefined when the task is gone.
	 * @internal
	 */
	private async typeOf(id: string): Promise<string | undefined> {
		const rows = await this._runner.run<{ type: string }[]>(this._statements.typeOf, [id], {
			idempotent: true,
			repeat: false,
			on: "session"
		});
		return rows[0]?.type;
	}

	/**
	 * Tell every other instance that tasks of a type may be claimable now; a failure only costs
	 * them a poll.
	 * @param type The task type.
	 * @internal
	 */
	private notifyType(type: string): void {
		if (!this._runner.isOpen) {
			return;
		}
		this._runner
			.run(this._statements.notify, [this._statements.channel, type, this._owner], {
				idempotent: true,
				repeat: false,
				on: "session"
			})
			.catch((err: unknown) => this._log?.log("warn", "wakeFailed", { type }, err));
	}

	/**
	 * Wake the scheduler for a type.
	 * @param type The task type.
	 * @internal
	 */
	private wakeFor(type: string): void {
		try {
			this._wake(type);
		} catch (err) {
			this._log?.log("warn", "wakeFailed", { type }, err);
		}
	}
}
