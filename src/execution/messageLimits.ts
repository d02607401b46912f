// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * How many messages holding a type's jobs may be in a worker at once: the type's concurrency, for
 * the types whose runs may wait in messages beyond their slots (WorkerPoolExecutor.slotDepth). A
 * message runs its jobs one after the other, so a type's calls running at once stay within its
 * concurrency however many of its runs wait, and however many workers the pool has
 * (docs/design.md, "Quick jobs queued in a worker beyond the slots").
 */
export class MessageLimits {
	/**
	 * The limit of each type that has one: its concurrency.
	 * @internal
	 */
	private readonly _limits = new Map<string, number>();

	/**
	 * The messages in a worker that hold jobs of each type.
	 * @internal
	 */
	private readonly _out = new Map<string, number>();

	/**
	 * A job was held back by its type's limit since held() was last asked.
	 * @internal
	 */
	private _held = false;

	/**
	 * Limit a type's messages at once to its concurrency; kept once set (a later call updates it):
	 * a limit never binds a type whose runs are within its concurrency, since each of its messages
	 * holds one of them at least.
	 * @param type The task type.
	 * @param concurrency Its concurrency.
	 */
	public limit(type: string, concurrency: number): void {
		this._limits.set(type, concurrency);
	}

	/**
	 * Whether a type's messages are limited: its jobs then go in messages only, never alone, so
	 * that every call of it is counted.
	 * @param type The task type, if the job has one.
	 * @returns True if so.
	 */
	public isLimited(type: string | undefined): boolean {
		return type !== undefined && this._limits.has(type);
	}

	/**
	 * Whether a job of a type may go in the message being made: its type is in the message already,
	 * or has fewer messages out than its limit.
	 * @param type The job's type, if any.
	 * @param inMessage The types the message holds so far.
	 * @returns True if so.
	 */
	public allows(type: string | undefined, inMessage?: ReadonlySet<string>): boolean {
		if (type === undefined || inMessage?.has(type)) {
			return true;
		}
		const limit = this._limits.get(type);
		if (limit === undefined || (this._out.get(type) ?? 0) < limit) {
			return true;
		}
		this._held = true;
		return false;
	}

	/**
	 * Whether a job was held back by its type's limit since the last call: then the end of one of
	 * its type's messages may let it go to any free worker, not only to the one that message freed.
	 * @returns True if so.
	 */
	public held(): boolean {
		const held = this._held;
		this._held = false;
		return held;
	}

	/**
	 * A message holding jobs of these types went to a worker.
	 * @param types The types.
	 */
	public sent(types: ReadonlySet<string>): void {
		for (const type of types) {
			this._out.set(type, (this._out.get(type) ?? 0) + 1);
		}
	}

	/**
	 * A message holding jobs of these types was answered, or failed.
	 * @param types The types.
	 */
	public ended(types: ReadonlySet<string>): void {
		for (const type of types) {
			const out = (this._out.get(type) ?? 1) - 1;
			if (out > 0) {
				this._out.set(type, out);
			} else {
				this._out.delete(type);
			}
		}
	}
}
