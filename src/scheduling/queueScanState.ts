// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ITaskRef } from "./taskRef.js";
import { unexpectedTransition } from "./transitionError.js";

/**
 * How much of a type's active tasks its queue holds: nothing known yet, every task due up to a
 * horizon, or all of them.
 */
export type QueueCoverage =
	| { phase: "unscanned" }
	| { phase: "partial"; horizon: number }
	| { phase: "complete" };

/**
 * The scans of one type's queue: how far they have made the queue complete (its coverage), the
 * scans in flight, a scan owed when they end, the backoff after failures, and the tasks offered
 * meanwhile. The TaskFeed drives a scan through begin, one of the mark methods, and end; each
 * asserts that a scan is in flight.
 */
export class QueueScanState {
	/**
	 * How much of the type's active tasks the queue holds.
	 * @internal
	 */
	private _coverage: QueueCoverage = { phase: "unscanned" };

	/**
	 * The scans in flight: at most one, except overlapping claims (TaskFeed).
	 * @internal
	 */
	private _inFlight = 0;

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
	private _failures = 0;

	/**
	 * No refill scan before this time, epoch ms (backoff after a failed or empty scan).
	 * @internal
	 */
	private _retryAt = 0;

	/**
	 * Tasks offered while a scan was in flight: the scan's result may predate them, so they are
	 * queued once it has set the new coverage.
	 * @internal
	 */
	private readonly _arrivals: ITaskRef[] = [];

	/**
	 * Create a new QueueScanState.
	 * @param type The task type, for errors.
	 */
	constructor(private readonly type: string) {}

	/**
	 * How much of the type's active tasks the queue holds.
	 * @returns The coverage.
	 */
	public get coverage(): QueueCoverage {
		return this._coverage;
	}

	/**
	 * The scans in flight.
	 * @returns The count.
	 */
	public get inFlight(): number {
		return this._inFlight;
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
	public get retryAt(): number {
		return this._retryAt;
	}

	/**
	 * Whether the queue holds every active task due by then.
	 * @param due A due time, epoch ms.
	 * @returns True when a task of that due time belongs in the queue now.
	 */
	public covers(due: number): boolean {
		switch (this._coverage.phase) {
			case "unscanned":
				return due <= Number.NEGATIVE_INFINITY;
			case "partial":
				return due <= this._coverage.horizon;
			default:
				return due <= Number.POSITIVE_INFINITY;
		}
	}

	/**
	 * Hold a task offered while a scan is in flight.
	 * @param ref The task.
	 */
	public holdArrival(ref: ITaskRef): void {
		this._arrivals.push(ref);
	}

	/**
	 * The tasks offered during the scan that just ended, to offer again now.
	 * @returns The refs, in arrival order.
	 */
	public takeArrivals(): ITaskRef[] {
		return this._arrivals.splice(0);
	}

	/**
	 * A scan was asked for while the scans in flight are all there may be: run one when they end.
	 */
	public defer(): void {
		this._rescan = true;
	}

	/**
	 * A scan was asked for with no room to fill: none runs, none is owed.
	 */
	public skip(): void {
		this._rescan = false;
	}

	/**
	 * A scan begins.
	 * @param asked How many tasks it claims room for (0 when fetching only reads).
	 */
	public begin(asked: number): void {
		this._inFlight++;
		this._asked += asked;
		this._rescan = false;
	}

	/**
	 * A scan's result: the queue now holds every active task due up to the horizon.
	 * @param horizon The due time of the last task returned, or Infinity when it returned all.
	 */
	public markScanned(horizon: number): void {
		this.expectInFlight("scanned");
		this._failures = 0;
		this._retryAt = 0;
		this._coverage =
			horizon === Number.POSITIVE_INFINITY ? { phase: "complete" } : { phase: "partial", horizon };
	}

	/**
	 * A scan returned nothing and not everything (a source at its bound of claimed tasks): no
	 * refill scan before the given time; the coverage stays.
	 * @param until Epoch ms.
	 */
	public markEmpty(until: number): void {
		this.expectInFlight("scanned empty");
		this._failures = 0;
		this._retryAt = until;
	}

	/**
	 * A scan failed: no refill scan until its backoff has passed.
	 * @param pause The pause before the next refill scan, given the consecutive failures, ms.
	 */
	public markFailed(pause: (failures: number) => number): void {
		this.expectInFlight("scan failed");
		this._failures++;
		this._retryAt = Date.now() + pause(this._failures);
	}

	/**
	 * A scan ended (after its mark, whatever it was).
	 * @param asked What it claimed room for, as given to begin.
	 */
	public end(asked: number): void {
		this.expectInFlight("ended");
		this._inFlight--;
		this._asked -= asked;
	}

	/**
	 * Forget what the scans found (the scheduler restarts: storage is the source of truth). Scans
	 * still in flight from before keep their count, so they end normally.
	 */
	public reset(): void {
		this._arrivals.length = 0;
		this._failures = 0;
		this._retryAt = 0;
		this._rescan = false;
		this._coverage = { phase: "unscanned" };
	}

	/**
	 * Throw an internal error unless a scan is in flight.
	 * @param to What the scan was to become.
	 * @internal
	 */
	private expectInFlight(to: string): void {
		if (this._inFlight <= 0) {
			throw unexpectedTransition(`the scans of ${this.type}`, "no scan in flight", to);
		}
	}
}
