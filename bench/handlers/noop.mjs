// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The trivial handler of the throughput, scaling and memory scenarios: it does no work, so the
// benchmark measures the connector (storage calls, scheduling, worker round trip). It only counts
// its calls in shared memory, so the benchmark can check that every task ran its handler once.
import { KEYS, sharedView } from "./shared.mjs";

/**
 * Count the call, do nothing else.
 * @returns {Promise<undefined>} Nothing.
 */
export async function noop() {
	const calls = sharedView(KEYS.noopCalls, Int32Array);
	if (calls) {
		Atomics.add(calls, 0, 1);
	}
	return undefined;
}
