// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Backlog jobs. scaling: a backlog of pending tasks is in storage before start(); storage calls
// per task by kind and wall time per task, from start() to the last completion. memory: peak RSS
// growth over the idle process while 50k tasks (retainFor 0) are created up front and processed.
import { KEYS } from "../../handlers/shared.mjs";
import {
	createBench,
	handlerModule,
	mb,
	NODE,
	peakRss,
	perTask,
	rss,
	RssSampler,
	settleMemory,
	shareWithWorkers,
	sleep,
	statusCounts
} from "./common.mjs";

/**
 * Run the scaling scenario at one backlog size.
 * @param {{ backlog: number, config?: object }} params The backlog size and connector config.
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean> }>} The result.
 */
export async function scaling(params) {
	const calls = new Int32Array(shareWithWorkers(KEYS.noopCalls, 4));
	const { connector, storage, memory } = createBench(params.config);
	// The backlog is created through the connector before the type has a handler, so every entity
	// is exactly what create() stores; the wrapper appends it without the in-memory connector's
	// linear existence check, which would make a 50k setup quadratic. Those set() calls are counted.
	storage.fastInsert = true;
	for (let i = 0; i < params.backlog; i++) {
		await connector.create("bench-0", { i });
	}
	storage.fastInsert = false;
	// Started first (worker pool up, start-up sweep done, counted), so the wall time is the
	// processing of the backlog; registering the handler while started scans it and begins.
	await connector.start(NODE);
	await sleep(100);
	const done = storage.whenCompleted(params.backlog);
	const t0 = performance.now();
	await connector.registerHandler("bench-0", handlerModule("noop"), "noop");
	await done;
	const wallMs = performance.now() - t0;
	await connector.stop(NODE);
	const handlerCalls = Atomics.load(calls, 0);
	return {
		metrics: {
			wallUsPerTask: (wallMs * 1000) / params.backlog,
			tasksPerSec: params.backlog / (wallMs / 1000),
			wallMs,
			...perTask(storage.counts, params.backlog),
			handlerCalls
		},
		checks: {
			everyHandlerRanOnce: handlerCalls === params.backlog,
			storageEmptyAtEnd: memory.getStore().length === 0
		}
	};
}

/**
 * Run the memory scenario.
 * @param {{ n: number, config?: object }} params The number of tasks and the connector config.
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean> }>} The result.
 */
export async function memoryGrowth(params) {
	const calls = new Int32Array(shareWithWorkers(KEYS.noopCalls, 4));
	const { connector, storage, memory } = createBench(params.config);
	await connector.registerHandler("bench-0", handlerModule("noop"), "noop");
	await connector.start(NODE);
	await settleMemory();
	const idleRss = rss();
	const sampler = new RssSampler(20);
	const done = storage.whenCompleted(params.n);
	const t0 = performance.now();
	for (let i = 0; i < params.n; i++) {
		await connector.create("bench-0", { i }, { retainFor: 0 });
	}
	const createMs = performance.now() - t0;
	const storedAfterCreate = memory.getStore().length;
	const rssAfterCreate = rss();
	await done;
	const wallMs = performance.now() - t0;
	const sampledPeak = sampler.stop();
	const kernelPeak = peakRss();
	await settleMemory();
	const endRss = rss();
	await connector.stop(NODE);
	const handlerCalls = Atomics.load(calls, 0);
	const left = statusCounts(memory);
	return {
		metrics: {
			peakGrowthMb: mb(Math.max(sampledPeak, kernelPeak) - idleRss),
			idleRssMb: mb(idleRss),
			peakRssMb: mb(Math.max(sampledPeak, kernelPeak)),
			rssAfterCreateMb: mb(rssAfterCreate),
			endRssMb: mb(endRss),
			storedAfterCreate,
			createMs,
			wallMs,
			tasksPerSec: params.n / (wallMs / 1000),
			handlerCalls
		},
		checks: {
			everyHandlerRanOnce: handlerCalls === params.n,
			storageEmptyAtEnd: Object.keys(left).length === 0
		}
	};
}
