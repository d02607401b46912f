// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ITaskSource, QueuedTask } from "../contracts/ITaskSource.js";
import type { TaskLog } from "../utils/taskLog.js";
import type { ISchedulerSettings } from "../contracts/schedulerModels.js";
import type { TaskQueue } from "./taskQueue.js";
import { toRef } from "./taskRef.js";
import { dueAt } from "../domain/rules.js";

/**
 * The first pause after a failed scan; it doubles with each failure, up to pollInterval.
 */
const SCAN_BACKOFF_FIRST_MS = 100;

/**
 * Claims of one type in flight at once when fetches overlap, each of at most a share of the local
 * queue (the bound divided by this), the next one sent as soon as that share is free. With two,
 * a batch is usually there when the one before is done; see docs/performance.md.
 */
const CLAIMS_IN_FLIGHT = 2;

/**
 * The refill point of scans that do not overlap (a reading source's, a serial type's), as a share
 * of the batch: a scan when the queue holds less than a quarter.
 */
const REFILL_SHARE = 4;

/**
 * The size of each overlapping claim: its share of the local queue.
 * @param bound The local queue's bound.
 * @returns The most tasks one claim asks for.
 */
function claimSize(bound: number): number {
	return Math.ceil(bound / CLAIMS_IN_FLIGHT);
}

/**
 * What the scheduler learns from storage rather than from its own calls: batches of a type's
 * active tasks (scans), types with due tasks and no handler, and expired retained tasks (sweep).
 * Never throws: a failure is logged, and a failed scan sets its queue's backoff.
 */
export class TaskFeed {
	/**
	 * Create a new TaskFeed.
	 * @param source The task source.
	 * @param settings The scheduler settings.
	 * @param log The log.
	 */
	constructor(
		private readonly source: ITaskSource,
		private readonly settings: ISchedulerSettings,
		private readonly log: TaskLog
	) {}

	/**
	 * Fetch a batch of the type's tasks from the source (read, or claimed for this instance when
	 * fetching claims, and then bounded by the free room in the queue), queue those not yet known
	 * and mark how far the queue is complete: all of it when the batch held every task there is,
	 * else up to the due time of the last one. A scan asked for while the scans in flight are all
	 * there may be is remembered (`queue.scans.rescanWanted`) for the caller to run when they end.
	 * @param queue The queue.
	 * @param isLive Whether the queue is still in use when the batch arrives.
	 * @param startedAt When this session started.
	 * @returns False when no scan ran: one was already in flight, or there was no room.
	 */
	public async scan(queue: TaskQueue, isLive: () => boolean, startedAt: number): Promise<boolean> {
		const pipelined = this.pipelined(queue);
		if (queue.scans.inFlight >= (pipelined ? CLAIMS_IN_FLIGHT : 1)) {
			queue.scans.defer();
			return false;
		}
		const limit = this.limit(queue, pipelined);
		if (limit <= 0) {
			// No room (a serial type's task is held or running here): no scan runs, nothing to
			// repeat; a freed slot asks again.
			queue.scans.skip();
			return false;
		}
		const asked = this.source.claimPolicy.fetchClaims ? limit : 0;
		queue.scans.begin(asked);
		try {
			const { tasks, complete } = await this.source.fetch(
				queue.type,
				this.settings.threadId,
				limit,
				startedAt,
				queue.handler.serial
			);
			if (!isLive()) {
				if (this.source.claimPolicy.givesBackUnrun && tasks.length > 0) {
					await this.source.unclaim(tasks.map(t => t.id));
				}
				return true;
			}
			this.accept(queue, tasks, complete);
		} catch (err) {
			// Back off before the next refill scan, so failing storage is not queried in a tight loop.
			queue.scans.markFailed(failures =>
				Math.min(SCAN_BACKOFF_FIRST_MS * 2 ** (failures - 1), this.settings.pollInterval)
			);
			this.log.log("error", "scanFailed", { type: queue.type }, err);
		} finally {
			queue.scans.end(asked);
		}
		return true;
	}

	/**
	 * Whether a refill scan should start now: for overlapping claims, when a share of the local
	 * queue is free beyond what the claims in flight asked for; otherwise when no scan is in
	 * flight and the queue holds less than a share of a batch.
	 * @param queue The queue (not yet complete).
	 * @returns True to scan.
	 */
	public wantsRefill(queue: TaskQueue): boolean {
		if (this.pipelined(queue)) {
			const bound = this.bound(queue);
			return queue.scans.inFlight < CLAIMS_IN_FLIGHT && this.room(queue, bound) >= claimSize(bound);
		}
		return queue.scans.inFlight === 0 && queue.size < this.settings.batchSize / REFILL_SHARE;
	}

	/**
	 * Log an error for each type with due tasks of this thread and no handler.
	 * @param hasHandler Whether a type has a handler.
	 */
	public async reportUnhandled(hasHandler: (type: string) => boolean): Promise<void> {
		try {
			// One entry per type, naming one of its due tasks, with the original's key and level.
			for (const { id, type } of await this.source.dueSample(this.settings.threadId, Date.now())) {
				if (!hasHandler(type)) {
					this.log.log("error", "noHandler", { id, type });
				}
			}
		} catch (err) {
			this.log.log("error", "scanFailed", {}, err);
		}
	}

	/**
	 * Remove final tasks whose retain date has passed.
	 */
	public async sweep(): Promise<void> {
		try {
			const now = Date.now();
			const removed = await this.source.sweep(now);
			if (removed > 0) {
				this.log.log("info", "tasksSwept", { count: removed });
			}
		} catch (err) {
			this.log.log("error", "sweepFailed", {}, err);
		}
	}

	/**
	 * How many tasks a scan may fetch: a batch when fetching only reads; when it claims, no more
	 * than the room in the bounded local queue left by the tasks queued and those the claims in
	 * flight asked for, and no more than one claim's share when claims overlap.
	 * @param queue The queue.
	 * @param pipelined Whether the type's claims overlap.
	 * @returns The limit (0 or less: no room).
	 * @internal
	 */
	private limit(queue: TaskQueue, pipelined: boolean): number {
		const bound = this.bound(queue);
		if (!this.source.claimPolicy.fetchClaims) {
			return bound;
		}
		return Math.min(
			this.room(queue, bound),
			pipelined ? claimSize(bound) : Number.POSITIVE_INFINITY
		);
	}

	/**
	 * Queue a fetched batch and mark how far the queue is now complete.
	 * @param queue The queue.
	 * @param tasks The batch, earliest due first.
	 * @param complete Whether it held every task there is.
	 * @internal
	 */
	private accept(queue: TaskQueue, tasks: QueuedTask[], complete: boolean): void {
		for (const task of tasks) {
			// A fetched task that is newest replaces a queued ref of it, whose due time may be stale
			// (a retry made it due now); otherwise it is queued only when not known yet.
			const known = this.source.claimPolicy.fetchedIsNewest
				? queue.isRunning(task.id)
				: queue.has(task.id);
			if (!known) {
				queue.push(toRef(task));
			}
		}
		if (complete) {
			queue.scans.markScanned(Number.POSITIVE_INFINITY);
		} else if (tasks.length > 0) {
			queue.scans.markScanned(dueAt(tasks[tasks.length - 1]));
		} else {
			// Nothing returned and not complete (a source at its bound of claimed tasks): wait a
			// little before asking again rather than asking in a loop.
			queue.scans.markEmpty(Date.now() + SCAN_BACKOFF_FIRST_MS);
		}
	}

	/**
	 * The room left in a claiming type's bounded local queue by the tasks queued and those the
	 * claims in flight asked for.
	 * @param queue The queue.
	 * @param bound The queue's bound.
	 * @returns The room.
	 * @internal
	 */
	private room(queue: TaskQueue, bound: number): number {
		return bound - queue.size - queue.scans.asked;
	}

	/**
	 * Whether the type's claims may overlap: when the source's fetches may, unless the type is
	 * serial (one task at a time, only while none of it is held here).
	 * @param queue The queue.
	 * @returns True when they may.
	 * @internal
	 */
	private pipelined(queue: TaskQueue): boolean {
		return this.source.claimPolicy.fetchesOverlap && !queue.handler.serial;
	}

	/**
	 * How many of the type's tasks may be queued here: a batch when fetching only reads; when it
	 * claims, what this instance may keep claimed. A serial type's is one task, only while none of
	 * it is held or running here. A rate-limited type claims no more than one window's starts:
	 * more would sit leased in the local queue while other nodes could start them.
	 * @param queue The queue.
	 * @returns The bound.
	 * @internal
	 */
	private bound(queue: TaskQueue): number {
		if (!this.source.claimPolicy.fetchClaims) {
			return this.settings.batchSize;
		}
		if (queue.handler.serial) {
			return 1 - queue.runningCount;
		}
		return Math.min(
			this.settings.batchSize,
			queue.handler.rateLimit?.max ?? Number.POSITIVE_INFINITY
		);
	}
}
