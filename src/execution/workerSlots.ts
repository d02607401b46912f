// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { QuickJobs } from "./quickJobs.js";

/**
 * The worker pool's accounting of its workers: how many are free, the jobs waiting for one to be
 * sent alone, and the order of arrival that decides whether a worker given back goes to such a job
 * or to the quick jobs waiting (QuickJobs). Jobs are handed to the pool only when a worker is free
 * (never left in piscina's own queue), so a job's timeout measures its handler's run and not the
 * time it waited for a worker.
 */
export class WorkerSlots {
	/**
	 * Workers not running one of our jobs.
	 * @internal
	 */
	private _free: number;

	/**
	 * Jobs waiting for a free worker to be sent alone (timeouts, handlers not known to be quick),
	 * with their place in the order of arrival.
	 * @internal
	 */
	private readonly _waiting: { seq: number; wake: () => void }[] = [];

	/**
	 * Arrivals so far, which orders _waiting and the quick jobs against each other.
	 * @internal
	 */
	private _seq = 0;

	/**
	 * Create the accounting of a pool.
	 * @param maxWorkers The most workers the pool runs.
	 * @param quick The quick jobs waiting, which a worker given back may go to.
	 * @param sendQuick Send the next message of quick jobs on a worker given to them.
	 */
	constructor(
		maxWorkers: number,
		private readonly quick: QuickJobs,
		private readonly sendQuick: () => void
	) {
		this._free = maxWorkers;
	}

	/**
	 * Whether a worker is free now, so quick jobs may be sent without waiting.
	 * @returns True if one is.
	 */
	public get anyFree(): boolean {
		return this._free > 0;
	}

	/**
	 * A quick job's place in the order of arrival, for its entry in QuickJobs.
	 * @returns The place.
	 */
	public arrive(): number {
		return this._seq++;
	}

	/**
	 * Wait for a free worker and take it, to send a job alone.
	 */
	public async acquire(): Promise<void> {
		if (this.takeFree()) {
			return;
		}
		await new Promise<void>(resolve => this._waiting.push({ seq: this._seq++, wake: resolve }));
	}

	/**
	 * Take a free worker, if any, without waiting.
	 * @returns True when one was taken.
	 */
	public takeFree(): boolean {
		if (this._free <= 0) {
			return false;
		}
		this._free--;
		return true;
	}

	/**
	 * Give a worker back: to whichever waited longest, a job to send alone or quick jobs, else to
	 * the free count.
	 */
	public release(): void {
		const alone = this._waiting[0];
		const quick = this.quick.first;
		if (alone && (!quick || alone.seq < quick.seq)) {
			this._waiting.shift();
			alone.wake();
		} else if (quick) {
			this.sendQuick();
		} else {
			this._free++;
		}
	}

	/**
	 * Count no more workers, once the pool is closed: every job waiting is let through (and fails
	 * there), and every later one goes through at once.
	 */
	public unlimit(): void {
		this._free = Number.POSITIVE_INFINITY;
		for (const { wake } of this._waiting.splice(0)) {
			wake();
		}
	}
}
