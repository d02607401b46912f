// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISettleEntry } from "./ISettleEntry.js";

/**
 * A settle waiting in a batch: its entry, and who hears how its batch went. An object rather than
 * a promise, so a task waiting for its record keeps one small object alive instead of a promise,
 * its two resolving functions and their context (docs/performance.md, "Hot path").
 */
export interface ISettleWaiter {
	/**
	 * The entry to write.
	 */
	readonly entry: ISettleEntry;

	/**
	 * The batch was written.
	 * @param written True when the row was written or removed, false when the fence kept it out.
	 */
	written(written: boolean): void;

	/**
	 * The batch's write failed.
	 * @param err The failure.
	 */
	failed(err: unknown): void;
}

/**
 * Collects settles and writes them together: the settles that arrive while the event loop runs
 * one turn (or while the previous batch is being written) go out as one statement. Settles of
 * many tasks finishing together then cost one round trip, and under load the batches grow on
 * their own while a write is in flight. One batch is written at a time; a task appears at most
 * once per batch (a second settle of the same task waits for the next batch).
 */
export class SettleBatch {
	/**
	 * The batches not yet written, oldest first.
	 * @internal
	 */
	private readonly _queued: Map<string, ISettleWaiter>[] = [];

	/**
	 * The write in flight.
	 * @internal
	 */
	private _writing?: Promise<void>;

	/**
	 * A flush scheduled for the next turn of the event loop.
	 * @internal
	 */
	private _scheduled = false;

	/**
	 * Create a new SettleBatch.
	 * @param write Writes a batch; resolves with the ids the fence kept out (neither written nor
	 * removed).
	 */
	constructor(private readonly write: (entries: ISettleEntry[]) => Promise<Set<string>>) {}

	/**
	 * Queue a settle: once its batch is written, or failed, the waiter's method is called (never
	 * during this call).
	 * @param waiter The waiter.
	 */
	public wait(waiter: ISettleWaiter): void {
		let batch = this._queued[this._queued.length - 1];
		if (!batch || batch.has(waiter.entry.id)) {
			batch = new Map();
			this._queued.push(batch);
		}
		batch.set(waiter.entry.id, waiter);
		this.schedule();
	}

	/**
	 * Wait until every queued settle has been written (or failed).
	 */
	public async drain(): Promise<void> {
		while (this._writing || this._queued.length > 0) {
			if (!this._writing) {
				this.flush();
			}
			await this._writing?.catch(() => undefined);
		}
	}

	/**
	 * Flush on the next turn unless a write is in flight (its end flushes).
	 * @internal
	 */
	private schedule(): void {
		if (this._scheduled || this._writing) {
			return;
		}
		this._scheduled = true;
		setImmediate(() => {
			this._scheduled = false;
			if (!this._writing) {
				this.flush();
			}
		});
	}

	/**
	 * Write the oldest batch; when done, the next one.
	 * @internal
	 */
	private flush(): void {
		const batch = this._queued.shift();
		if (!batch) {
			return;
		}
		const waiting = [...batch.values()];
		this._writing = this.write(waiting.map(w => w.entry))
			.then(
				keptOut => {
					for (const w of waiting) {
						try {
							w.written(!keptOut.has(w.entry.id));
						} catch {
							// A waiter catches its own failures (TaskSettles logs them): this only keeps one
							// waiter's bug from denying the others their outcome.
						}
					}
				},
				err => {
					for (const w of waiting) {
						try {
							w.failed(err);
						} catch {
							// As above.
						}
					}
				}
			)
			.finally(() => {
				this._writing = undefined;
				if (this._queued.length > 0) {
					this.flush();
				}
			});
	}
}
