// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { performance } from "node:perf_hooks";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { IClaimResult, QueuedTask } from "../../contracts/ITaskSource.js";
import type { IResolvedPostgresConfig } from "../../config/IResolvedPostgresConfig.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { HeldTasks } from "./heldTasks.js";
import type { LeaseKeeper } from "./leaseKeeper.js";
import { arrayLiteral } from "./postgresConnection.js";
import type { PostgresSession } from "./postgresSession.js";
import type { PostgresStatements } from "./postgresStatements.js";
import { byClaimOrder, fromRow, fromValues, toQueued, type TaskRow } from "./rowMapping.js";
import type { StatementRunner } from "./statementRunner.js";
import type { TableUpkeep } from "./tableUpkeep.js";

/**
 * How long a task claimed by fetch may wait here unstarted before the heartbeat gives it back
 * (as graphile-worker's local queue TTL): a scheduler that fetched more than it runs soon never
 * holds tasks from other nodes for long. A task given back and then passed to claim is claimed
 * again in SQL if it is still claimable.
 */
const LOCAL_QUEUE_TTL_MS = 300_000;

/**
 * The claims of one instance. `fetch` claims a batch of a type's due tasks in one statement
 * (FOR UPDATE SKIP LOCKED, so concurrent batches never take the same row), marking them
 * processing with this session's id as lease owner and a lease that ends leaseTimeout after the
 * database's clock. The rows are held here (HeldTasks) until `claim` or `claimHeld` hands them
 * out (no SQL) or `unclaim`, the local queue's time to live or close give back those never
 * started; at most localQueueSize of a type wait here. `claim` of any other task is one
 * conditional UPDATE. A serial type's claims run in a transaction that first takes the type's
 * advisory lock.
 */
export class TaskClaims {
	/**
	 * How long a fetched task may wait unstarted, ms.
	 * @internal
	 */
	private readonly _localQueueTtl: number;

	/**
	 * Fetches in flight: close waits for them, so what they claim is given back.
	 * @internal
	 */
	private readonly _fetching = new Set<Promise<unknown>>();

	/**
	 * Create a new TaskClaims.
	 * @param _config The resolved config (leaseTimeout, localQueueSize).
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _session The session (its lease owner id).
	 * @param _held The tasks held here.
	 * @param _leases Keeps their leases.
	 * @param _log The log.
	 * @param _upkeep Told how many tasks each claim took.
	 * @param localQueueTtl How long a fetched task may wait unstarted, ms (default 5 min).
	 */
	constructor(
		private readonly _config: IResolvedPostgresConfig,
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _session: PostgresSession,
		private readonly _held: HeldTasks,
		private readonly _leases: LeaseKeeper,
		private readonly _log: TaskLog | undefined,
		private readonly _upkeep: TableUpkeep | undefined,
		localQueueTtl?: number
	) {
		this._localQueueTtl = localQueueTtl ?? LOCAL_QUEUE_TTL_MS;
	}

	/**
	 * Claim a batch of the type's due tasks for this instance, earliest due first; at most
	 * localQueueSize of a type wait here unstarted.
	 * @param type The task type.
	 * @param threadId The thread.
	 * @param limit How many at most.
	 * @param serial One task at a time across all nodes (statements.fetchSerial).
	 * @returns The tasks and whether they were all the due ones.
	 */
	public async fetch(
		type: string,
		threadId: string,
		limit: number,
		serial?: boolean
	): Promise<{ tasks: QueuedTask[]; complete: boolean }> {
		this._runner.assertOpen();
		this._session.fetched(type, serial);
		const n = Math.min(
			serial ? 1 : limit,
			this._config.localQueueSize - this._held.waitingCount(type)
		);
		if (n <= 0) {
			return { tasks: [], complete: false };
		}
		const owner = this._session.owner;
		const leaseAt = performance.now();
		const batch = (async () => {
			const now = new Date().toISOString();
			const leaseTimeout = this._config.leaseTimeout;
			const claimed = serial
				? (
						await this.serially(type, this._statements.fetchSerial, [
							type,
							threadId,
							now,
							owner,
							leaseTimeout
						])
					).map(fromRow)
				: await this.claimBatch([type, threadId, n, now, owner, leaseTimeout]);
			this._upkeep?.claimed(claimed.length);
			const fetched = this.hold(claimed, owner, leaseAt);
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
	 * Give back tasks claimed by fetch and not started: pending again for any instance.
	 * @param ids The task ids.
	 */
	public async unclaim(ids: string[]): Promise<void> {
		const open = this._runner.isOpen;
		const owner = this._session.owner;
		const given: string[] = [];
		for (const id of ids) {
			const held = this._held.get(id);
			if (held?.phase === "waiting" && held.owner === owner) {
				this._held.delete(id);
				given.push(id);
			}
		}
		if (!open || given.length === 0) {
			return;
		}
		// Not repeated: what is not given back here expires with its lease.
		await this._runner.run(
			this._statements.unclaim,
			[arrayLiteral(given), owner, new Date().toISOString()],
			{ idempotent: true, repeat: false, on: "session", deadline: "unclaim" }
		);
	}

	/**
	 * Claim a task to run it now: one claimed by fetch costs nothing (its lease confirmed in SQL
	 * when the heartbeat may have missed its expiry); any other is claimed by one conditional
	 * UPDATE.
	 * @param id The task id.
	 * @param threadId The thread.
	 * @param serial One task at a time across all nodes (statements.claimSerial).
	 * @returns The claim result.
	 */
	public async claim(id: string, threadId: string, serial?: boolean): Promise<IClaimResult> {
		this._runner.assertOpen();
		const fetched = await this.takeFetched(id);
		if (fetched !== undefined) {
			return fetched;
		}
		const owner = this._session.owner;
		const leaseAt = performance.now();
		const params = [id, threadId, new Date().toISOString(), owner, this._config.leaseTimeout];
		const rows = serial
			? await this.serially(await this.typeOf(id), this._statements.claimSerial, params)
			: await this._runner.run<TaskRow[]>(this._statements.claim, params, {
					idempotent: false,
					on: "session",
					deadline: "claim"
				});
		if (rows.length > 0) {
			const task = fromRow(rows[0]);
			this._held.add(task, owner, leaseAt, false);
			return { claimed: task };
		}
		// A fetch of this instance may have taken the row first (a delayed task that came due,
		// claimed by the scheduler's timer while a poll fetched it): its task is held here once the
		// fetch ends, and is handed out now, or it would wait unstarted.
		await this.fetchesDone();
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
	 * The heartbeat's work: give back the tasks waiting here past the local queue's time to live,
	 * then renew the lease of every task held (one statement).
	 */
	public async beat(): Promise<void> {
		const stale = this._held.waiting(performance.now() - this._localQueueTtl);
		if (stale.length > 0) {
			try {
				await this.unclaim(stale);
			} catch (err) {
				this._log?.log("warn", "unclaimFailed", { count: stale.length }, err);
			}
		}
		await this._leases.renew(this._session.owner);
	}

	/**
	 * Wait for the fetches in flight (never failing).
	 */
	public async fetchesDone(): Promise<void> {
		await Promise.allSettled([...this._fetching]);
	}

	/**
	 * At close: give back every task waiting here and forget every held one (a running task keeps
	 * its lease until it expires).
	 */
	public async giveBackAll(): Promise<void> {
		const waiting = this._held.waiting();
		try {
			await this.unclaim(waiting);
		} catch (err) {
			this._log?.log("warn", "unclaimFailed", { count: waiting.length }, err);
		}
		this._held.clear();
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
	 * Hold the tasks a fetch claimed, in claim order, as waiting to start.
	 * @param claimed The claimed tasks.
	 * @param owner The lease owner that claimed them.
	 * @param leaseAt When the claim was sent, performance.now().
	 * @returns The tasks to queue: all but those running here already.
	 * @internal
	 */
	private hold(claimed: BackgroundTask[], owner: string, leaseAt: number): BackgroundTask[] {
		const fetched: BackgroundTask[] = [];
		for (const task of claimed.sort(byClaimOrder)) {
			const running = this._held.get(task.id);
			if (running && this._held.runsHere(running, owner)) {
				// Running here already, or its final outcome being written: its lease lapsed (a
				// stalled heartbeat) and this fetch took it again. The run goes on under the new
				// claim; it is not queued a second time.
				this._held.reclaimed(running, task.dateModified, leaseAt);
				continue;
			}
			this._held.add(task, owner, leaseAt, true);
			fetched.push(task);
		}
		return fetched;
	}

	/**
	 * Run the batch claim (statements.fetch) on the scheduler's connection, its rows read as values.
	 * @param params The statement's parameters.
	 * @returns The claimed tasks.
	 * @internal
	 */
	private async claimBatch(params: (string | number)[]): Promise<BackgroundTask[]> {
		const rows = await this._runner.values(this._statements.fetch, params, {
			idempotent: false,
			on: "scheduler",
			deadline: "fetch"
		});
		return rows.map(fromValues);
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
}
