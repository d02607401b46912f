// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The soak handler: tasks whose payload has failOnce fail on their first attempt and succeed on
// the retry. Attempts are counted per task in shared memory, so it works whichever worker runs the
// retry, and the benchmark can check afterwards that every task ran exactly as often as expected.
import { KEYS, sharedView } from "./shared.mjs";

/**
 * Count the attempt; throw on the first attempt of a failOnce task.
 * @param {unknown} engineCloneData Unused.
 * @param {{ i: number, failOnce?: boolean }} payload The task index and whether it fails once.
 * @returns {Promise<undefined>} Nothing.
 */
export async function flaky(engineCloneData, payload) {
	const attempts = sharedView(KEYS.attempts, Int32Array);
	const attempt = attempts ? Atomics.add(attempts, payload.i, 1) + 1 : 1;
	if (payload.failOnce && attempt === 1) {
		throw new Error(`Task ${payload.i} fails on its first attempt (soak fault injection)`);
	}
	return undefined;
}
