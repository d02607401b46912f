// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The stop-scenario handler: counts itself as started (counter 0) in shared memory, sleeps for
// payload.ms, then counts itself as finished (counter 1).
import { KEYS, sharedView } from "./shared.mjs";

/**
 * Sleep.
 * @param {unknown} engineCloneData Unused.
 * @param {{ ms: number }} payload How long to sleep.
 * @returns {Promise<undefined>} Nothing.
 */
export async function sleep(engineCloneData, payload) {
	const counters = sharedView(KEYS.sleepCounters, Int32Array);
	if (counters) {
		Atomics.add(counters, 0, 1);
	}
	await new Promise(resolve => setTimeout(resolve, payload.ms));
	if (counters) {
		Atomics.add(counters, 1, 1);
	}
	return undefined;
}
