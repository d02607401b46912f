// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Handlers of the PostgreSQL benchmark jobs for our connector (either backend). Each counts how
// often it ran for each task (payload.i) in a SharedArrayBuffer published under PER_TASK_KEY with
// worker_threads.setEnvironmentData (worker threads inherit it; inline handlers on the main thread
// see it too), so every run checks that each task ran exactly once. `stamp` also reports its start
// time to a hook of the process (cross-node latency, inline mode); `sleep` waits payload.ms.
import { getEnvironmentData } from "node:worker_threads";

/**
 * The environment-data key of the per-task run counters (a Uint8Array over a SharedArrayBuffer).
 */
export const PER_TASK_KEY = "twin-bench-pg-per-task";

/**
 * The global hook `stamp` calls with (i, epoch microseconds) when it starts.
 */
export const STAMP_HOOK = "__twinBenchPgStamp";

let view;

/**
 * Count a run of task i.
 * @param {{ i?: number }} payload The payload.
 */
function countRun(payload) {
	const buffer = getEnvironmentData(PER_TASK_KEY);
	if (!buffer || typeof payload?.i !== "number") {
		return;
	}
	if (view?.buffer !== buffer) {
		view = new Uint8Array(buffer);
	}
	if (payload.i < view.length) {
		Atomics.add(view, payload.i, 1);
	}
}

/**
 * Do nothing but count the run.
 * @param {unknown} engineCloneData Unused.
 * @param {{ i: number }} payload The task index.
 * @returns {Promise<undefined>} Nothing.
 */
export async function count(engineCloneData, payload) {
	countRun(payload);
	return undefined;
}

/**
 * Sleep payload.ms without using the CPU, then count the run.
 * @param {unknown} engineCloneData Unused.
 * @param {{ i: number, ms: number }} payload The task index and how long to sleep.
 * @returns {Promise<undefined>} Nothing.
 */
export async function sleep(engineCloneData, payload) {
	await new Promise(resolve => setTimeout(resolve, payload.ms));
	countRun(payload);
	return undefined;
}

/**
 * Report the start time (epoch microseconds, performance.timeOrigin + now(), comparable across
 * processes of one machine to a few microseconds) to the process hook, then count the run.
 * @param {unknown} engineCloneData Unused.
 * @param {{ i: number }} payload The sample index.
 * @returns {Promise<undefined>} Nothing.
 */
export async function stamp(engineCloneData, payload) {
	const at = (performance.timeOrigin + performance.now()) * 1000;
	globalThis[STAMP_HOOK]?.(payload.i, at);
	countRun(payload);
	return undefined;
}
