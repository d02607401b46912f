// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Shared memory between a benchmark process and its handlers. The benchmark publishes a
// SharedArrayBuffer with worker_threads.setEnvironmentData before the connector starts its pool;
// every worker created afterwards inherits it (the same memory, not a copy), and inline handlers
// on the main thread see it too. Looked up on each call (a map lookup), because on the main thread
// a later job of a batched smoke run publishes a new buffer under the same key.
import { getEnvironmentData } from "node:worker_threads";

/**
 * Environment-data keys of the shared buffers.
 */
export const KEYS = {
	noopCalls: "twin-bench-noop-calls",
	latencyStamps: "twin-bench-latency-stamps",
	attempts: "twin-bench-attempts",
	sleepCounters: "twin-bench-sleep-counters"
};

const views = new Map();

/**
 * A typed view of a published buffer, cached per thread and buffer.
 * @template {Int32Array | BigInt64Array} T
 * @param {string} key The environment-data key.
 * @param {new (buffer: SharedArrayBuffer) => T} Type The typed-array class.
 * @returns {T | undefined} The view, undefined when nothing was published.
 */
export function sharedView(key, Type) {
	const buffer = getEnvironmentData(key);
	if (!buffer) {
		return undefined;
	}
	let view = views.get(key);
	if (view?.buffer !== buffer) {
		view = new Type(buffer);
		views.set(key, view);
	}
	return view;
}
