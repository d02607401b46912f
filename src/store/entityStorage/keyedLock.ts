// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Serialises async work per key: two read-modify-write sequences on one task never interleave,
 * so a cancel and a claim of the same task see each other's result. Work on different keys runs
 * in parallel. The map holds only keys with work in flight.
 */
export class KeyedLock {
	/**
	 * The tail of the chain for each key with work in flight.
	 * @internal
	 */
	private readonly _tails = new Map<string, Promise<unknown>>();

	/**
	 * Run the work once every earlier work on the same key has settled.
	 * @param key The key to serialise on.
	 * @param work The work to run.
	 * @returns The result of the work.
	 */
	public async run<T>(key: string, work: () => Promise<T>): Promise<T> {
		const previous = this._tails.get(key);
		const current = previous ? previous.then(work, work) : work();
		const tail = current.then(
			() => undefined,
			() => undefined
		);
		this._tails.set(key, tail);
		try {
			return await current;
		} finally {
			if (this._tails.get(key) === tail) {
				this._tails.delete(key);
			}
		}
	}
}
