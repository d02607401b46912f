// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The longest delay setTimeout accepts.
 */
const MAX_DELAY = 2_147_483_647;

/**
 * Every timer of one scheduler, so stop() can clear them all: one wake-up at the earliest
 * future start, repeating timers (poll, sweep), and cancellable pauses (storage backoff).
 */
export class Timers {
	/**
	 * The wake-up timer and when it fires.
	 * @internal
	 */
	private _wake?: { at: number; timer: NodeJS.Timeout };

	/**
	 * Repeating timers.
	 * @internal
	 */
	private readonly _intervals = new Set<NodeJS.Timeout>();

	/**
	 * Pauses in progress, with the function that ends each early.
	 * @internal
	 */
	private readonly _pauses = new Map<NodeJS.Timeout, () => void>();

	/**
	 * Pauses are refused (end at once) after cancelPauses until reset.
	 * @internal
	 */
	private _pausesCancelled = false;

	/**
	 * Call fn at the given time, unless a wake-up is already due no later.
	 * @param at Epoch ms.
	 * @param fn The callback.
	 */
	public wakeAt(at: number, fn: () => void): void {
		if (this._wake && this._wake.at <= at) {
			return;
		}
		if (this._wake) {
			clearTimeout(this._wake.timer);
		}
		const timer = setTimeout(
			() => {
				this._wake = undefined;
				fn();
			},
			Math.min(Math.max(0, at - Date.now()), MAX_DELAY)
		);
		this._wake = { at, timer };
	}

	/**
	 * Call fn every ms milliseconds.
	 * @param ms The period.
	 * @param fn The callback.
	 */
	public every(ms: number, fn: () => void): void {
		this._intervals.add(setInterval(fn, Math.min(ms, MAX_DELAY)));
	}

	/**
	 * Wait ms milliseconds, or less if pauses are cancelled.
	 * @param ms The pause.
	 * @returns Resolves when the pause ends.
	 */
	public async pause(ms: number): Promise<void> {
		if (this._pausesCancelled) {
			return;
		}
		await new Promise<void>(resolve => {
			const timer = setTimeout(() => {
				this._pauses.delete(timer);
				resolve();
			}, ms);
			this._pauses.set(timer, () => {
				clearTimeout(timer);
				resolve();
			});
		});
	}

	/**
	 * Wait for a promise, at most ms milliseconds.
	 * @param promise The promise.
	 * @param ms The bound.
	 */
	public async race(promise: Promise<unknown>, ms: number): Promise<void> {
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([promise, new Promise<void>(resolve => (timer = setTimeout(resolve, ms)))]);
		clearTimeout(timer);
	}

	/**
	 * Clear the wake-up and repeating timers.
	 */
	public clearAll(): void {
		if (this._wake) {
			clearTimeout(this._wake.timer);
			this._wake = undefined;
		}
		for (const interval of this._intervals) {
			clearInterval(interval);
		}
		this._intervals.clear();
	}

	/**
	 * End every pause now and refuse new ones.
	 */
	public cancelPauses(): void {
		this._pausesCancelled = true;
		for (const end of this._pauses.values()) {
			end();
		}
		this._pauses.clear();
	}

	/**
	 * Accept pauses again (on start).
	 */
	public reset(): void {
		this._pausesCancelled = false;
	}
}
