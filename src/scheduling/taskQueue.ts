// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import { QueuedRefs } from "./queuedRefs.js";
import { StartWindow } from "./startWindow.js";
import type { ITaskRef } from "./taskRef.js";
import { unexpectedTransition } from "./transitionError.js";

/**
 * How much of the type's active tasks the queue knows: nothing yet, those due up to a horizon,
 * or all of them.
 */
export type QueueCoverage =
	| { phase: "unscanned" }
	| { phase: "partial"; horizon: number }
	| { phase: "complete" };

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
	 * The handler of the type; replaced when the type is registered again.
	 * @internal
	 */
	private _handler: IRegisteredHandler;

	/**
	 * How much of the type's active tasks the queue holds.
	 * @internal
	 */
	private _coverage: QueueCoverage = { phase: "unscanned" };

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
	 * The scans of this type in flight: at most one, except overlapping claims (TaskFeed).
	 * @internal
	 */
	private _scans = 0;

	/**
	 * How many tasks the claims in flight asked for: room in the bounded queue they may fill.
	 * @internal
	 */
	private _asked = 0;

	/**
	 * A scan was asked for while one was in flight: run another when it ends (a wake-up from
	 * another node may concern tasks the scan in flight did not see).
	 * @internal
	 */
	private _rescan = false;

	/**
	 * Consecutive failed scans, for their backoff.
	 * @internal
	 */
	private _scanFailures = 0;

	/**
	 * No refill scan before this time, epoch ms (backoff after a failed or empty scan).
	 * @internal
	 */
	private _scanRetryAt = 0;

	/**
	 * Tasks offered while a scan was in flight, queued once it has set the new coverage.
	 * @internal
	 */
	private readonly _arrivedDuringScan: ITaskRef[] = [];

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
	 * How much of the type's active tasks the queue holds.
	 * @returns The coverage.
	 */
	public get coverage(): QueueCoverage {
		return this._coverage;
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
		} else if (this.scanning) {
			this._arrivedDuringScan.push(ref);
		} else if (ref.due <= this.horizon()) {
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
	 * @returns The time, epoch ms.
	 */
	public readyAt(now: number, taskInterval: number): number {
		if (this._running.size >= this._handler.concurrency) {
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
	 * Forget a queued task (cancelled or removed).
	 * @param id The task id.
	 */
	public drop(id: string): void {
		this._queued.drop(id);
	}

	/**
	 * True while a scan for this type is in flight.
	 * @returns Whether one is.
	 */
	public get scanning(): boolean {
		return this._scans > 0;
	}

	/**
	 * The scans in flight.
	 * @returns The count.
	 */
	public get scansInFlight(): number {
		return this._scans;
	}

	/**
	 * How many tasks the claims in flight asked for.
	 * @returns The count.
	 */
	public get asked(): number {
		return this._asked;
	}

	/**
	 * Whether a scan was asked for while one was in flight.
	 * @returns True to scan again.
	 */
	public get rescanWanted(): boolean {
		return this._rescan;
	}

	/**
	 * No refill scan before this time, epoch ms.
	 * @returns The time.
	 */
	public get scanRetryAt(): number {
		return this._scanRetryAt;
	}

	/**
	 * A scan was asked for while the scans in flight are all there may be: run one when they end.
	 */
	public deferScan(): void {
		this._rescan = true;
	}

	/**
	 * A scan was asked for with no room to fill: none runs, none is owed.
	 */
	public skipScan(): void {
		this._rescan = false;
	}

	/**
	 * A scan begins.
	 * @param asked How many tasks it claims room for (0 when fetching only reads).
	 */
	public beginScan(asked: number): void {
		this._scans++;
		this._asked += asked;
		this._rescan = false;
	}

	/**
	 * A scan's result: the queue now covers every active task due up to the horizon.
	 * @param horizon The due time of the last task returned, or Infinity when it returned all.
	 */
	public markScanned(horizon: number): void {
		this.assertScanning("scanned");
		this._scanFailures = 0;
		this._scanRetryAt = 0;
		this._coverage =
			horizon === Number.POSITIVE_INFINITY ? { phase: "complete" } : { phase: "partial", horizon };
	}

	/**
	 * A scan returned nothing and not everything (a source at its bound of claimed tasks): no
	 * refill scan before the given time.
	 * @param until Epoch ms.
	 */
	public markScannedEmpty(until: number): void {
		this.assertScanning("scanned empty");
		this._scanFailures = 0;
		this._scanRetryAt = until;
	}

	/**
	 * A scan failed: count it, for the backoff.
	 * @param pause How long to wait before the next refill scan, given the consecutive failures.
	 */
	public markScanFailed(pause: (failures: number) => number): void {
		this.assertScanning("scan failed");
		this._scanFailures++;
		this._scanRetryAt = Date.now() + pause(this._scanFailures);
	}

	/**
	 * A scan ended (after its result, whatever it was).
	 * @param asked What it claimed room for, as given to beginScan.
	 */
	public endScan(asked: number): void {
		this.assertScanning("ended");
		this._scans--;
		this._asked -= asked;
	}

	/**
	 * The tasks offered during the scan that just ended, to offer again now.
	 * @returns The refs, in arrival order.
	 */
	public takeArrivedDuringScan(): ITaskRef[] {
		return this._arrivedDuringScan.splice(0);
	}

	/**
	 * Forget everything (the scheduler restarts: storage is the source of truth). Scans still in
	 * flight from before keep their count, so they end normally.
	 */
	public clear(): void {
		this._queued.clear();
		this._running.clear();
		this._arrivedDuringScan.length = 0;
		this._dueWhileRunning.clear();
		this._scanFailures = 0;
		this._scanRetryAt = 0;
		this._rescan = false;
		this._coverage = { phase: "unscanned" };
		this._lastStart = Number.NEGATIVE_INFINITY;
	}

	/**
	 * The due time up to which the queue holds every active task.
	 * @returns Epoch ms: negative infinity before a scan, Infinity once one returned all.
	 * @internal
	 */
	private horizon(): number {
		switch (this._coverage.phase) {
			case "unscanned":
				return Number.NEGATIVE_INFINITY;
			case "partial":
				return this._coverage.horizon;
			default:
				return Number.POSITIVE_INFINITY;
		}
	}

	/**
	 * Throw an internal error unless a scan is in flight.
	 * @param to What the scan was to become.
	 * @internal
	 */
	private assertScanning(to: string): void {
		if (this._scans <= 0) {
			throw unexpectedTransition(`queue ${this.type}`, "no scan in flight", to);
		}
	}
}
