// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The latency-idle handler: records when it started, as epoch microseconds
// (performance.timeOrigin + performance.now(), comparable across threads to a few microseconds),
// in shared memory at the sample's index.
import { KEYS, sharedView } from "./shared.mjs";

/**
 * Record the start time of sample payload.i.
 * @param {unknown} engineCloneData Unused.
 * @param {{ i: number }} payload The sample index.
 * @returns {Promise<undefined>} Nothing.
 */
export async function stamp(engineCloneData, payload) {
	const nowUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
	const stamps = sharedView(KEYS.latencyStamps, BigInt64Array);
	if (stamps) {
		Atomics.store(stamps, payload.i, BigInt(nowUs));
	}
	return undefined;
}
