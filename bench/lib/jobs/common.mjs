// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Shared setup of the benchmark jobs: the BUILT package, the real in-memory entity-storage
// connector behind a counting wrapper, handler module URLs and small measuring helpers.
import { setEnvironmentData } from "node:worker_threads";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { EntityStorageConnectorFactory } from "@twin.org/entity-storage-models";
import { EntityStorageBackgroundTaskConnector, initSchema } from "../../../dist/esm/index.js";
import { CountingStorage } from "../countingStorage.mjs";
import { MapStorage } from "../mapStorage.mjs";

initSchema();

/**
 * The node identity passed to start/stop.
 */
export const NODE = "bench-node";

/**
 * The file URL of a handler module under bench/handlers.
 * @param {string} name The module name without extension.
 * @returns {string} The URL.
 */
export function handlerModule(name) {
	return new URL(`../../handlers/${name}.mjs`, import.meta.url).href;
}

let storageCount = 0;

/**
 * A connector over a fresh real in-memory storage (or, for the ceiling scenario only, an O(1) Map
 * storage) wrapped in a CountingStorage.
 * @param {import("../../../dist/types/index.js").IEntityStorageBackgroundTaskConnectorConfig} [config] The config.
 * @param {"memory" | "map"} [kind] The storage.
 * @returns {{ connector: EntityStorageBackgroundTaskConnector, storage: CountingStorage, memory: MemoryEntityStorageConnector<any> }}
 *   The connector, the wrapper and the raw connector.
 */
export function createBench(config, kind = "memory") {
	const memory =
		kind === "map"
			? new MapStorage({ entitySchema: "BackgroundTask" })
			: new MemoryEntityStorageConnector({ entitySchema: "BackgroundTask" });
	const storage = new CountingStorage(memory);
	const storageType = `bench-background-task-${++storageCount}`;
	EntityStorageConnectorFactory.register(storageType, () => storage);
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: storageType,
		config
	});
	return { connector, storage, memory };
}

/**
 * A SharedArrayBuffer published to worker threads created from now on under `key`.
 * @param {string} key The environment-data key.
 * @param {number} bytes The size.
 * @returns {SharedArrayBuffer} The buffer.
 */
export function shareWithWorkers(key, bytes) {
	const buffer = new SharedArrayBuffer(Math.max(8, Math.ceil(bytes / 8) * 8));
	setEnvironmentData(key, buffer);
	return buffer;
}

/**
 * Storage calls per task from the wrapper's counters.
 * @param {{ set: number, get: number, remove: number, query: number }} counts The counters.
 * @param {number} n The number of tasks.
 * @returns {Record<string, number>} Calls per task by kind, and writes (set + remove).
 */
export function perTask(counts, n) {
	return {
		setPerTask: counts.set / n,
		getPerTask: counts.get / n,
		removePerTask: counts.remove / n,
		queryPerTask: counts.query / n,
		writesPerTask: (counts.set + counts.remove) / n,
		readsPerTask: counts.get / n
	};
}

/**
 * Count stored entities by status.
 * @param {MemoryEntityStorageConnector<any>} memory The raw connector.
 * @returns {Record<string, number>} Counts.
 */
export function statusCounts(memory) {
	const counts = {};
	for (const entity of memory.getStore()) {
		counts[entity.status] = (counts[entity.status] ?? 0) + 1;
	}
	return counts;
}

/**
 * Wait for a condition, polling.
 * @param {() => boolean} check The condition.
 * @param {number} timeoutMs The bound.
 * @param {string} what For the error.
 * @returns {Promise<void>} Resolves when true.
 */
export async function waitUntil(check, timeoutMs, what) {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) {
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		}
		await sleep(2);
	}
}

/**
 * Sleep.
 * @param {number} ms Milliseconds.
 * @returns {Promise<void>} Resolves later.
 */
export function sleep(ms) {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * Collect garbage when the process runs with --expose-gc, then let the allocator settle.
 * @returns {Promise<void>} Resolves after the collection.
 */
export async function settleMemory() {
	for (let i = 0; i < 3; i++) {
		globalThis.gc?.();
		await sleep(50);
	}
}

/**
 * Resident set size now, in bytes.
 * @returns {number} RSS.
 */
export function rss() {
	return process.memoryUsage.rss();
}

/**
 * Peak RSS of the process so far (kernel high-water mark), in bytes.
 * @returns {number} Peak RSS.
 */
export function peakRss() {
	return process.resourceUsage().maxRSS * 1024;
}

/**
 * Samples RSS on a timer (the kernel peak covers stretches where the event loop is blocked).
 */
export class RssSampler {
	/**
	 * Start sampling.
	 * @param {number} everyMs The sampling period.
	 */
	constructor(everyMs) {
		this.max = rss();
		this._timer = setInterval(() => {
			this.max = Math.max(this.max, rss());
		}, everyMs);
	}

	/**
	 * Stop sampling (no timer is left behind).
	 * @returns {number} The highest RSS sampled, bytes.
	 */
	stop() {
		clearInterval(this._timer);
		this.max = Math.max(this.max, rss());
		return this.max;
	}
}

/**
 * Bytes to MB.
 * @param {number} bytes Bytes.
 * @returns {number} MB.
 */
export function mb(bytes) {
	return bytes / (1024 * 1024);
}

/**
 * The percentile of a sorted array (nearest rank).
 * @param {number[]} sorted Ascending values.
 * @param {number} p The percentile, 0..100.
 * @returns {number} The value.
 */
export function percentile(sorted, p) {
	if (sorted.length === 0) {
		return Number.NaN;
	}
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
