// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import { QueuedRefs } from "./queuedRefs.js";
import { StartWindow } from "./startWindow.js";
import type { ITaskRef } from "./taskRef.js";
import { QueueScanState } from "./queueScanState.js";
import { unexpectedTransition } from "./transitionError.js";

/**
 * The in-memory view of one type's runnable tasks, and what the scheduler tracks for the type:
 * its queued tasks in start order, its running tasks, its starts (taskInterval gap and rate
 * limit), and the scans that fill it.
 *
 * The view may be partial. Its coverage says how far it is complete: with a horizon, every
 * active task of the type with due <= horizon is queued or running. A full scan makes it
 * complete; a scan that stopped at its batch size sets the horizon to the last due time it saw. A
 * task made due beyond the horizon is left for the next refill scan, so a large backlog in storage
 * is never overtaken by newer tasks and never loaded into memory at once.
 *
 * A task offered while a scan is in flight is held until the scan has set the new coverage (the
 * scan's result may predate it); one offered while it runs is held until its run ends.
 */
export class TaskQueue {
	/**
	 * The scans that fill the queue, and how far they have made it complete.
	 */
	public readonly scans: QueueScanState;

	/**
	 * The handler of the type; replaced when the type is registered again.
	 * @internal
	 */
	private _handler: IRegisteredHandler;

	/**
	 * The queued tasks.
	 * @internal
	 */
	private readonly _queued = new QueuedRefs();

	/**
	 * Ids taken from the queue and not yet finished. Shared with the type's earlier queue when the
	 * type is registered again while tasks of it still run (see the constructor).
	 * @internal
	 */
	private readonly _running: Set<string>;

	/**
	 * When a task of this type last started, epoch ms.
	 * @internal
	 */
	private _lastStart = Number.NEGATIVE_INFINITY;

	/**
	 * The recent starts, for the rate limit (noted only while the handler has one).
	 * @internal
	 */
	private readonly _window = new StartWindow();

	/**
	 * Tasks offered (retry()) while they were running: queued when their run ends.
	 * @internal
	 */
	private readonly _dueWhileRunning = new Map<string, ITaskRef>();

	/**
	 * Create a new TaskQueue.
	 * @param type The task type.
	 * @param handler The handler of the type.
	 * @param running The running set of the type's previous queue, when the type was unregistered
	 * while tasks of it ran: they must not be claimed again nor exceed the concurrency.
	 */
	constructor(
		public readonly type: string,
		handler: IRegisteredHandler,
		running?: Set<string>
	) {
		this._handler = handler;
		this.scans = new QueueScanState(type);
		this._running = running ?? new Set<string>();
	}

	/**
	 * The handler of the type.
	 * @returns The handler.
	 */
	public get handler(): IRegisteredHandler {
		return this._handler;
	}

	/**
	 * The type was registered again: use its new handler from the next start.
	 * @param handler The handler.
	 */
	public replaceHandler(handler: IRegisteredHandler): void {
		this._handler = handler;
	}

	/**
	 * The number of queued tasks.
	 * @returns The count.
	 */
	public get size(): number {
		return this._queued.size;
	}

	/**
	 * The number of running tasks.
	 * @returns The count.
	 */
	public get runningCount(): number {
		return this._running.size;
	}

	/**
	 * Is the task queued or running.
	 * @param id The task id.
	 * @returns True if known.
	 */
	public has(id: string): boolean {
		return this._queued.has(id) || this._running.has(id);
	}

	/**
	 * Is the task running.
	 * @param id The task id.
	 * @returns True if running.
	 */
	public isRunning(id: string): boolean {
		return this._running.has(id);
	}

	/**
	 * Queue a task a scan returned, replacing any earlier ref of the same id.
	 * @param ref The task ref.
	 */
	public push(ref: ITaskRef): void {
		this._queued.push(ref);
	}

	/**
	 * Offer a task that became due: queue it now when the queue's coverage includes it, hold it
	 * while a scan is in flight or while it runs, else leave it for a refill scan.
	 * @param ref The task.
	 * @returns True when it was queued now.
	 */
	public offer(ref: ITaskRef): boolean {
		if (this._running.has(ref.id)) {
			this._dueWhileRunning.set(ref.id, ref);
		} else if (this.scans.inFlight > 0) {
			this.scans.holdArrival(ref);
		} else if (this.scans.covers(ref.due)) {
			this._queued.push(ref);
			return true;
		}
		return false;
	}

	/**
	 * When the next task may start: now or earlier if at once, a future time if it waits for its
	 * due time, the taskInterval gap or the rate limit, Infinity if nothing is queued or every
	 * slot is taken.
	 * @param now The current time, epoch ms.
	 * @param taskInterval The least gap between two starts, ms.
	 * @param depth The runs in flight a slot may hold (the executor's slotDepth), 1 by default.
	 * @returns The time, epoch ms.
	 */
	public readyAt(now: number, taskInterval: number, depth = 1): number {
		if (this._running.size >= this._handler.concurrency * depth) {
			return Number.POSITIVE_INFINITY;
		}
		const next = this._queued.peek(now);
		if (!next) {
			return Number.POSITIVE_INFINITY;
		}
		const ready = Math.max(next.due, this._lastStart + taskInterval, now - 1);
		const limit = this._handler.rateLimit;
		return limit ? Math.max(ready, this._window.readyAt(now, limit)) : ready;
	}

	/**
	 * Take the next task, mark it running and note its start.
	 * @param now The current time, epoch ms.
	 * @returns The task.
	 */
	public startNext(now: number): ITaskRef {
		const ref = this._queued.take(now);
		if (!ref) {
			throw unexpectedTransition(`queue ${this.type}`, "empty", "task started");
		}
		this._running.add(ref.id);
		this._lastStart = now;
		if (this._handler.rateLimit) {
			this._window.noteStart(now);
		}
		return ref;
	}

	/**
	 * A run no longer holds its slot.
	 * @param id The task id.
	 */
	public finish(id: string): void {
		this._running.delete(id);
	}

	/**
	 * The task made due while it ran, to queue now that its run has ended.
	 * @param id The task id.
	 * @returns The ref, if it was made due meanwhile.
	 */
	public takeDueWhileRunning(id: string): ITaskRef | undefined {
		const ref = this._dueWhileRunning.get(id);
		this._dueWhileRunning.delete(id);
		return ref;
	}

	/**
	 * The running set, to hand to the type's next queue when the type is unregistered.
	 * @returns The set, or undefined when nothing runs.
	 */
	public stillRunning(): Set<string> | undefined {
		return this._running.size > 0 ? this._running : undefined;
	}

	/**
	 * The ids of the queued tasks (not the running ones).
	 * @returns The ids.
	 */
	public ids(): string[] {
		return this._queued.ids();
	}

	/**
	 * Empty the queue as its type is paused: the queued tasks and the coverage go, so nothing is
	 * queued again until the scan its resume asks for; running tasks stay.
	 * @returns The ids of the tasks that were queued.
	 */
	public takeQueued(): string[] {
		const ids = this._queued.ids();
		this._queued.clear();
		this.scans.reset();
		return ids;
	}

	/**
	 * Forget a queued task (cancelled or removed).
	 * @param id The task id.
	 */
	public drop(id: string): void {
		this._queued.drop(id);
	}

	/**
	 * Forget everything (the scheduler restarts: storage is the source of truth). Scans still in
	 * flight from before keep their count, so they end normally.
	 */
	public clear(): void {
		this._queued.clear();
		this._running.clear();
		this._dueWhileRunning.clear();
		this.scans.reset();
		this._lastStart = Number.NEGATIVE_INFINITY;
	}
}
