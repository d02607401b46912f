// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { TaskStore } from "../store/taskStore.js";
import type { TaskLog } from "../utils/taskLog.js";
import { dueAt, isExpired } from "./rules.js";
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
	 * @param store The task store.
	 * @param settings The scheduler settings.
	 * @param log The log.
	 */
	constructor(
		private readonly store: TaskStore,
		private readonly settings: ISchedulerSettings,
		private readonly log: TaskLog
	) {}

	/**
	 * Read a batch of the type's active tasks from storage, queue those not yet known and set the
	 * queue's horizon: Infinity when the batch held every active task, else the due time of the
	 * last one read.
	 * @param queue The queue.
	 * @param isLive Whether the queue is still in use when the batch arrives.
	 * @returns False when a scan of the queue was already in flight, so none ran.
	 */
	public async scan(queue: TaskQueue, isLive: () => boolean): Promise<boolean> {
		if (queue.scanning) {
			return false;
		}
		queue.scanning = true;
		try {
			const { tasks, complete } = await this.store.scanActive(
				queue.type,
				this.settings.threadId,
				this.settings.batchSize
			);
			if (!isLive()) {
				return true;
			}
			for (const task of tasks) {
				if (!queue.has(task.id)) {
					queue.push(toRef(task));
				}
			}
			if (complete) {
				queue.horizon = Number.POSITIVE_INFINITY;
			} else if (tasks.length > 0) {
				queue.horizon = dueAt(tasks[tasks.length - 1]);
			}
			queue.scanFailures = 0;
			queue.scanRetryAt = 0;
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
			const now = Date.now();
			const { tasks } = await this.store.scanActive(undefined, this.settings.threadId, 100);
			const unhandled = new Set(
				tasks
					.filter(t => t.status === TaskStatus.Pending && dueAt(t) <= now && !hasHandler(t.type))
					.map(t => t.type)
			);
			for (const type of unhandled) {
				this.log.log("error", "noHandler", { type });
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
			const removed = await this.store.sweep(task => isExpired(task, now));
			if (removed > 0) {
				this.log.log("info", "tasksSwept", { count: removed });
			}
		} catch (err) {
			this.log.log("error", "sweepFailed", {}, err);
		}
	}
}
