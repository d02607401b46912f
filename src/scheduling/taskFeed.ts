// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ITaskSource } from "../store/ITaskSource.js";
import type { TaskLog } from "../utils/taskLog.js";
import { dueAt } from "./rules.js";
import type { ISchedulerSettings } from "./schedulerModels.js";
import { toRef, type TaskQueue } from "./taskQueue.js";

/**
 * The first pause after a failed scan; it doubles with each failure, up to pollInterval.
 */
const SCAN_BACKOFF_FIRST_MS = 100;

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
	 * Fetch a batch of the type's tasks from the source (read, or claimed for this instance on a
	 * shared database, which is then bounded by the free room in the queue), queue those not yet
	 * known and set the queue's horizon: Infinity when the batch held every task there is, else
	 * the due time of the last one. A scan asked for while one is in flight is remembered
	 * (`queue.rescan`) for the caller to run when it ends.
	 * @param queue The queue.
	 * @param isLive Whether the queue is still in use when the batch arrives.
	 * @param startedAt When this session started.
	 * @returns False when no scan ran: one was already in flight, or there was no room.
	 */
	public async scan(queue: TaskQueue, isLive: () => boolean, startedAt: number): Promise<boolean> {
		if (queue.scanning) {
			queue.rescan = true;
			return false;
		}
		// A shared database claims what it returns: no more than the room in the bounded local
		// queue, and for a serial type one task, only while none of it is held here.
		const serial = queue.handler.serial;
		// A rate-limited type claims no more than one window's starts: more would sit leased in
		// the local queue while other nodes could start them.
		const bound = !this.source.claimsOnFetch
			? this.settings.batchSize
			: serial
				? 1 - queue.running.size
				: Math.min(
						this.settings.batchSize,
						queue.handler.rateLimit?.max ?? Number.POSITIVE_INFINITY
					);
		const limit = this.source.claimsOnFetch ? bound - queue.size : bound;
		if (limit <= 0) {
			// No room (a serial type's task is held or running here): no scan runs, nothing to
			// repeat; a freed slot asks again.
			queue.rescan = false;
			return false;
		}
		queue.scanning = true;
		queue.rescan = false;
		try {
			const { tasks, complete } = await this.source.fetch(
				queue.type,
				this.settings.threadId,
				limit,
				startedAt,
				serial
			);
			if (!isLive()) {
				if (this.source.claimsOnFetch && tasks.length > 0) {
					await this.source.unclaim(tasks.map(t => t.id));
				}
				return true;
			}
			for (const task of tasks) {
				// A claimed task replaces a queued ref of it, whose due time may be stale (a retry
				// made it due now); a read one is queued only when not known yet.
				if (this.source.claimsOnFetch ? !queue.running.has(task.id) : !queue.has(task.id)) {
					queue.push(toRef(task));
				}
			}
			queue.scanFailures = 0;
			queue.scanRetryAt = 0;
			if (complete) {
				queue.horizon = Number.POSITIVE_INFINITY;
			} else if (tasks.length > 0) {
				queue.horizon = dueAt(tasks[tasks.length - 1]);
			} else {
				// Nothing returned and not complete (a source at its bound of claimed tasks): wait a
				// little before asking again rather than asking in a loop.
				queue.scanRetryAt = Date.now() + SCAN_BACKOFF_FIRST_MS;
			}
		} catch (err) {
			// Back off before the next refill scan, so failing storage is not queried in a tight loop.
			queue.scanFailures++;
			queue.scanRetryAt =
				Date.now() +
				Math.min(SCAN_BACKOFF_FIRST_MS * 2 ** (queue.scanFailures - 1), this.settings.pollInterval);
			this.log.log("error", "scanFailed", { type: queue.type }, err);
		} finally {
			queue.scanning = false;
		}
		return true;
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
}
