// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The runs of a TaskRunner in progress, and who waits for none to be: stop() for every run to be
 * recorded, abandon() for the runs to end within abortGrace. A count, not a set of promises, so a
 * run costs nothing here while it waits for its record.
 */
export class RunCount {
	/**
	 * The runs begun and not ended.
	 * @internal
	 */
	private _active = 0;

	/**
	 * Called when the last run ends.
	 * @internal
	 */
	private readonly _idleWaiters: (() => void)[] = [];

	/**
	 * The runs in progress.
	 * @returns The count.
	 */
	public get active(): number {
		return this._active;
	}

	/**
	 * A run begins.
	 */
	public begin(): void {
		this._active++;
	}

	/**
	 * A run has ended: wake who waits when it was the last.
	 */
	public end(): void {
		if (--this._active === 0) {
			for (const wake of this._idleWaiters.splice(0)) {
				wake();
			}
		}
	}

	/**
	 * Wait until no run is in progress (at once when none is).
	 */
	public async idle(): Promise<void> {
		if (this._active > 0) {
			await new Promise<void>(resolve => this._idleWaiters.push(resolve));
		}
	}
}
