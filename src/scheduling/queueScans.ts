// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IClaimPolicy } from "../contracts/IClaimPolicy.js";
import type { TaskLog } from "../utils/taskLog.js";
import type { QueueRegistry } from "./queueRegistry.js";
import type { SchedulerLifecycle } from "./schedulerLifecycle.js";
import type { TaskFeed } from "./taskFeed.js";
import type { TaskQueue } from "./taskQueue.js";
import type { WorkTracker } from "./workTracker.js";

/**
 * When the scheduler reads storage for its queues: a scan of one type when asked (start,
 * registration, a wake-up), the refill of queues that run low, and the poll of every type for
 * tasks that reached storage by other routes. The TaskFeed does the reading.
 */
export class QueueScans {
	/**
	 * Create a new QueueScans.
	 * @param queues The queues.
	 * @param lifecycle The scheduler's lifecycle.
	 * @param feed Reads storage for the queues.
	 * @param work The background work stop() waits for.
	 * @param policy How the source claims.
	 * @param log The log.
	 * @param schedulePump Asks the pump to run once tasks were queued.
	 * @param paused The paused types, which are not scanned (their resume asks for a scan).
	 */
	constructor(
		private readonly queues: QueueRegistry,
		private readonly lifecycle: SchedulerLifecycle,
		private readonly feed: TaskFeed,
		private readonly work: WorkTracker,
		private readonly policy: IClaimPolicy,
		private readonly log: TaskLog,
		private readonly schedulePump: () => void,
		private readonly paused: ReadonlySet<string>
	) {}

	/**
	 * Scan one type now, in the background, unless it is paused.
	 * @param queue The queue.
	 */
	public request(queue: TaskQueue): void {
		if (!this.paused.has(queue.type)) {
			this.work.track(this.scan(queue));
		}
	}

	/**
	 * Tasks of a type may have become due in the source (created or retried here or on another
	 * instance of a shared database): scan that type, once the source is open.
	 * @param type The task type.
	 */
	public wake(type: string): void {
		const queue = this.queues.get(type);
		if (this.lifecycle.sourceOpen && queue) {
			this.request(queue);
		}
	}

	/**
	 * The poll: scan every type for tasks that reached storage by other routes, and report due
	 * tasks of types that have no handler.
	 */
	public poll(): void {
		for (const queue of this.queues.all) {
			this.request(queue);
		}
		if (this.log.enabled) {
			this.work.track(this.feed.reportUnhandled(type => this.queues.has(type)));
		}
	}

	/**
	 * Scan the queues that run low and are not yet complete, as the feed decides (a scan in
	 * flight answers this one too, except claims, which overlap once a share of the local queue is
	 * free); a queue backing off after a failed scan is left until its pause ends.
	 * @param now The current time, epoch ms.
	 * @returns The earliest time a queue backing off may be scanned, or Infinity.
	 */
	public refillLow(now: number): number {
		let retryAt = Number.POSITIVE_INFINITY;
		for (const queue of this.queues.all) {
			if (queue.scans.coverage.phase !== "complete" && this.feed.wantsRefill(queue)) {
				if (now >= queue.scans.retryAt) {
					this.request(queue);
				} else {
					retryAt = Math.min(retryAt, queue.scans.retryAt);
				}
			}
		}
		return retryAt;
	}

	/**
	 * Scan one type's tasks in storage; then queue what arrived meanwhile, scan again if that was
	 * asked for meanwhile, and pump.
	 * @param queue The queue.
	 * @internal
	 */
	private async scan(queue: TaskQueue): Promise<void> {
		// A batch that arrives for a type paused meanwhile is not queued (and given back when claimed).
		const isLive = (): boolean =>
			this.lifecycle.started &&
			this.queues.get(queue.type) === queue &&
			!this.paused.has(queue.type);
		const startedAt = this.lifecycle.runner?.startedAt ?? Date.now();
		if (!(await this.feed.scan(queue, isLive, startedAt))) {
			return;
		}
		for (const ref of queue.scans.takeArrivals()) {
			// A fetched task is the newest view of it: a ref of an id queued or running now came
			// from a fetch made since (a retry made the task due and a scan claimed it).
			if (!(this.policy.fetchedIsNewest && queue.has(ref.id)) && queue.offer(ref)) {
				this.schedulePump();
			}
		}
		if (queue.scans.rescanWanted && isLive()) {
			this.request(queue);
		}
		this.schedulePump();
	}
}
