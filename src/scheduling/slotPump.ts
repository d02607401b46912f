// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IClaimPolicy } from "../contracts/IClaimPolicy.js";
import type { QueuedTask } from "../contracts/ITaskSource.js";
import type { ISchedulerSettings } from "../contracts/schedulerModels.js";
import type { QueueRegistry } from "./queueRegistry.js";
import type { QueueScans } from "./queueScans.js";
import type { SchedulerLifecycle } from "./schedulerLifecycle.js";
import type { TaskQueue } from "./taskQueue.js";
import { RunSlot } from "./runSlot.js";
import type { TaskRunner } from "./taskRunner.js";
import { toRef, type ITaskRef } from "./taskRef.js";
import type { Timers } from "./timers.js";

/**
 * Starts tasks within the slots: each type has `concurrency` slots, and all types share
 * `globalLimit` in-flight tasks (four times the worker count in worker mode, so a worker never waits
 * for the main thread's storage work). A slot may hold more than one run where the executor says
 * so (TaskRunner.slotDepth: a quick handler in worker mode, whose jobs wait in messages and run one
 * after the other); such runs count against `globalLimit` times that depth, apart from the others,
 * so a quick type's backlog never holds back another type's starts. The pump fills free slots
 * round-robin, one task per type per round, so a busy type never starves another, and skips paused
 * types; it then arms the one wake-up timer for the earliest future start and has the queues that
 * run low refilled.
 *
 * In worker mode a claimed task may wait briefly for a free worker (the executor hands jobs to
 * the pool only as workers free up); its timeout starts when its handler starts.
 */
export class SlotPump {
	/**
	 * Where round-robin starts next.
	 * @internal
	 */
	private _next = 0;

	/**
	 * Tasks taken from a queue and not yet finished, all types, this session, but those started
	 * beyond their type's concurrency.
	 * @internal
	 */
	private _inFlight = 0;

	/**
	 * Tasks started beyond their type's concurrency (a slot's depth) and not yet finished.
	 * @internal
	 */
	private _deepInFlight = 0;

	/**
	 * A pump is queued as a microtask.
	 * @internal
	 */
	private _pumpQueued = false;

	/**
	 * Whether a new task of a type may still start (false once stop() began, or while the type is
	 * paused): one function for every run.
	 * @internal
	 */
	private readonly _mayStart = (type: string): boolean =>
		this.lifecycle.started && !this.paused.has(type);

	/**
	 * Create a new SlotPump.
	 * @param queues The queues.
	 * @param lifecycle The scheduler's lifecycle (its session's runner runs the tasks).
	 * @param scans Refills queues that run low, and wakes types.
	 * @param timers The timers (the wake-up).
	 * @param policy How the source claims.
	 * @param settings The scheduler settings.
	 * @param paused The paused types, whose queues start nothing.
	 */
	constructor(
		private readonly queues: QueueRegistry,
		private readonly lifecycle: SchedulerLifecycle,
		private readonly scans: QueueScans,
		private readonly timers: Timers,
		private readonly policy: IClaimPolicy,
		private readonly settings: ISchedulerSettings,
		private readonly paused: ReadonlySet<string>
	) {}

	/**
	 * A new session begins: no task of it is in flight yet.
	 */
	public reset(): void {
		this._inFlight = 0;
		this._deepInFlight = 0;
	}

	/**
	 * Queue a pump for the end of the current microtask run, once.
	 */
	public schedulePump(): void {
		if (!this._pumpQueued && this.lifecycle.started) {
			this._pumpQueued = true;
			queueMicrotask(() => {
				this._pumpQueued = false;
				this.pump();
			});
		}
	}

	/**
	 * Queue a task that became due (at once, after the scan in flight, or when its run ends), and
	 * pump when it was queued.
	 * @param queue The queue.
	 * @param ref The task.
	 */
	public offer(queue: TaskQueue, ref: ITaskRef): void {
		if (queue.offer(ref)) {
			this.schedulePump();
		}
	}

	/**
	 * Start every task that may start now, round-robin across types; then arm the wake-up timer
	 * for the earliest future start and refill queues that run low.
	 * @internal
	 */
	private pump(): void {
		if (!this.lifecycle.started || !this.lifecycle.runner) {
			return;
		}
		const now = Date.now();
		const wakeAt = this.fillSlots(now);
		if (wakeAt < Number.POSITIVE_INFINITY) {
			this.timers.wakeAt(wakeAt, () => this.pump());
		}
		const retryAt = this.scans.refillLow(now);
		if (retryAt < Number.POSITIVE_INFINITY) {
			this.timers.wakeAt(retryAt, () => this.pump());
		}
	}

	/**
	 * Start tasks round-robin, one per type per round, while slots are free and a type has a task
	 * ready.
	 * @param now The current time, epoch ms.
	 * @returns The earliest time a type not started now has a task ready, or Infinity.
	 * @internal
	 */
	private fillSlots(now: number): number {
		const limit = this.settings.globalLimit;
		const runner = this.lifecycle.runner as TaskRunner;
		let wakeAt = Number.POSITIVE_INFINITY;
		let startedOne = true;
		while (startedOne) {
			startedOne = false;
			const count = this.queues.all.length;
			for (let i = 0; i < count; i++) {
				const queue = this.queues.all[(this._next + i) % count];
				if (this.paused.has(queue.type)) {
					continue;
				}
				const depth = runner.slotDepth(queue.handler, queue.type);
				// A run beyond the type's concurrency is a deep one, limited apart.
				const deep = depth > 1 && queue.runningCount >= queue.handler.concurrency;
				if (deep ? this._deepInFlight >= limit * depth : this._inFlight >= limit) {
					continue;
				}
				const readyAt = queue.readyAt(now, this.settings.taskInterval, depth);
				if (readyAt <= now) {
					this.startNext(queue, now, deep);
					startedOne = true;
				} else {
					wakeAt = Math.min(wakeAt, readyAt);
				}
			}
			this._next = count > 0 ? (this._next + 1) % count : 0;
		}
		return wakeAt;
	}

	/**
	 * Take the queue's next task and run it.
	 * @param queue The queue.
	 * @param now The current time.
	 * @internal
	 */
	private startNext(queue: TaskQueue, now: number, deep: boolean): void {
		const ref = queue.startNext(now);
		if (deep) {
			this._deepInFlight++;
		} else {
			this._inFlight++;
		}
		// Freeing the slot when the handler returns lets the next task start without waiting for
		// the outcome's record; the claim keeps this task this node's until then. A serial type
		// keeps its slot to the end, since its next task may be claimed only then.
		const early = this.policy.freesSlotBeforeRecord && !queue.handler.serial;
		const runner = this.lifecycle.runner as TaskRunner;
		runner.run(
			queue.type,
			queue.handler,
			ref.id,
			this._mayStart,
			new RunSlot(this, queue, ref.id, this.lifecycle.session, early, deep)
		);
	}

	/**
	 * A run no longer needs its slot: free it, and pump.
	 * @param queue The queue the run came from.
	 * @param id The task id.
	 * @param session The session the run belongs to.
	 * @param deep Whether the run was started beyond its type's concurrency.
	 * @internal
	 */
	public release(queue: TaskQueue, id: string, session: number, deep: boolean): void {
		// A run of an earlier session (abandoned by stop()) leaves this session's state alone.
		if (session !== this.lifecycle.session) {
			return;
		}
		queue.finish(id);
		if (deep) {
			this._deepInFlight--;
		} else {
			this._inFlight--;
		}
		this.schedulePump();
	}

	/**
	 * A run ended, its slot already freed (release): queue the task again if it is pending (a
	 * retry), or if it was made due while it ran (retry() during its final state-change callback).
	 * When the slot is held to the end, both happen in one step, so the task's next run cannot
	 * start while this one still holds its slot.
	 * @param queue The queue the run came from.
	 * @param id The task id.
	 * @param session The session the run belongs to.
	 * @param requeue The task, when the run left it pending.
	 * @internal
	 */
	public finished(
		queue: TaskQueue,
		id: string,
		session: number,
		requeue: QueuedTask | undefined
	): void {
		if (session !== this.lifecycle.session) {
			return;
		}
		const madeDue = queue.takeDueWhileRunning(id);
		// The type's current queue, which may be a new one when the type was registered again
		// meanwhile (it shares this queue's running set); none if unregistered.
		const current = this.queues.get(queue.type);
		const ref = madeDue ?? (requeue ? toRef(requeue) : undefined);
		if (ref && current && this.lifecycle.started) {
			this.offer(current, ref);
		}
		if (current && this.policy.serialNextIsFetched && current.handler.serial) {
			this.scans.wake(current.type);
		}
		this.schedulePump();
	}
}
