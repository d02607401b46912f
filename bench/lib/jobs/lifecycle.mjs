// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Lifecycle jobs, each in its own child process because the process must be able to exit on its
// own afterwards (the parent measures that). stop: stop() with queued and running tasks. soak:
// 200k tasks, 5% failing on their first attempt, RSS over the run, and what is left after stop().
import { KEYS } from "../../handlers/shared.mjs";
import {
	createBench,
	handlerModule,
	mb,
	NODE,
	peakRss,
	rss,
	RssSampler,
	settleMemory,
	shareWithWorkers,
	sleep,
	statusCounts,
	waitUntil
} from "./common.mjs";

/**
 * Resources that keep the event loop alive, minus the child's own stdio pipes to the parent.
 * @returns {Promise<{ all: string[], leftover: string[] }>} Every resource and the unexpected ones.
 */
export async function activeResources() {
	await new Promise(resolve => setImmediate(resolve));
	const all = process.getActiveResourcesInfo();
	const leftover = all.filter(name => name !== "TTYWrap" && name !== "PipeWrap");
	return { all, leftover };
}

/**
 * stop() with `queued` tasks waiting and `running` handlers running (sleeping handlerMs).
 * @param {{ queued: number, running: number, handlerMs: number, shutdownTimeout: number, abortGrace?: number }} params
 *   The load, the shutdown bound and the grace after the abort signal.
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean>, info: object }>}
 *   The result.
 */
export async function stopUnderLoad(params) {
	const counters = new Int32Array(shareWithWorkers(KEYS.sleepCounters, 8));
	const { connector, memory } = createBench({
		concurrency: params.running,
		maxWorkers: params.running,
		shutdownTimeout: params.shutdownTimeout,
		abortGrace: params.abortGrace
	});
	// Claims as the callback hears of them: a task claimed before stop() may start its handler in
	// the worker after it (a handler that just ended lets the next queued task go), so what stop()
	// must finish or leave pending is counted by claims, not by handler starts.
	let claimed = 0;
	await connector.registerHandler("stop", handlerModule("sleep"), "sleep", async task => {
		if (task.status === "processing") {
			claimed++;
		}
	});
	await connector.start(NODE);
	for (let i = 0; i < params.queued + params.running; i++) {
		await connector.create("stop", { ms: params.handlerMs }, { retainFor: -1 });
	}
	await waitUntil(
		() => Atomics.load(counters, 0) >= params.running,
		30_000,
		"the handlers to start"
	);
	const claimedBeforeStop = claimed;
	const t0 = performance.now();
	await connector.stop(NODE);
	const stopMs = performance.now() - t0;
	const startedAfterStop = claimed - claimedBeforeStop;
	const total = params.queued + params.running;
	const statuses = statusCounts(memory);
	const resources = await activeResources();
	// How long until nothing of the connector is left (the process can exit from then on).
	let clearedMs = 0;
	while ((await activeResources()).leftover.length > 0 && clearedMs < 5000) {
		await sleep(5);
		clearedMs = performance.now() - t0 - stopMs;
	}
	const hang = params.handlerMs > params.shutdownTimeout;
	return {
		metrics: {
			stopMs,
			shutdownTimeout: params.shutdownTimeout,
			startedAfterStop,
			leftoverResources: resources.leftover.length,
			resourcesClearedMs: clearedMs,
			pending: statuses.pending ?? 0,
			processing: statuses.processing ?? 0,
			success: statuses.success ?? 0
		},
		checks: {
			noTaskStartedAfterStop: startedAfterStop === 0,
			queuedStayPending: (statuses.pending ?? 0) === total - claimedBeforeStop,
			runningRecordedOrLeftProcessing: hang
				? (statuses.processing ?? 0) === claimedBeforeStop
				: (statuses.success ?? 0) === claimedBeforeStop
		},
		info: { resources: resources.all, statuses }
	};
}

/**
 * The soak: `n` tasks fed through a bounded window of outstanding tasks (a steady producer, not
 * one burst), every 1/failRate-th failing on its first attempt and succeeding on its retry.
 * @param {{ n: number, failRate: number, window: number, retryInterval: number, config?: object, progress?: boolean }} params
 *   The load.
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean>, info: object }>}
 *   The result.
 */
export async function soak(params) {
	const attempts = new Int32Array(shareWithWorkers(KEYS.attempts, params.n * 4));
	const failEvery = Math.round(1 / params.failRate);
	const { connector, storage, memory } = createBench(params.config);
	await connector.registerHandler("soak", handlerModule("flaky"), "flaky");
	await connector.start(NODE);
	await sleep(100);
	await settleMemory();
	const startRss = rss();
	const startHeap = process.memoryUsage().heapUsed;
	const sampler = new RssSampler(100);
	// RSS once warm (10% done: handler imported, JIT and heaps grown), to tell growth over the run
	// (a leak) from the one-off growth of warming up.
	let warmRss;
	const t0 = performance.now();
	let created = 0;
	let nextReport = params.n / 10;
	while (created < params.n) {
		if (created - storage.completed < params.window) {
			const failOnce = created % failEvery === 0;
			await connector.create(
				"soak",
				{ i: created, failOnce },
				{ retryCount: 1, retryInterval: params.retryInterval }
			);
			created++;
		} else {
			await storage.whenCompleted(created - params.window / 2);
		}
		if (warmRss === undefined && storage.completed >= params.n / 10) {
			warmRss = rss();
		}
		if (params.progress && created >= nextReport) {
			process.stderr.write(
				`  soak: ${created} created, ${storage.completed} done, rss ${mb(rss()).toFixed(0)} MB\n`
			);
			nextReport += params.n / 10;
		}
	}
	await storage.whenCompleted(params.n);
	const wallMs = performance.now() - t0;
	const peak = Math.max(sampler.stop(), peakRss());
	await settleMemory();
	await sleep(500);
	const endRss = rss();
	const endHeap = process.memoryUsage().heapUsed;
	await connector.stop(NODE);
	await settleMemory();
	const afterStopRss = rss();
	const resources = await activeResources();

	let wrongAttempts = 0;
	for (let i = 0; i < params.n; i++) {
		if (Atomics.load(attempts, i) !== (i % failEvery === 0 ? 2 : 1)) {
			wrongAttempts++;
		}
	}
	return {
		metrics: {
			tasksPerSec: params.n / (wallMs / 1000),
			wallMs,
			startRssMb: mb(startRss),
			peakRssMb: mb(peak),
			endRssMb: mb(endRss),
			afterStopRssMb: mb(afterStopRss),
			endToStartRatio: endRss / startRss,
			warmRssMb: mb(warmRss ?? Number.NaN),
			endToWarmRatio: endRss / (warmRss ?? Number.NaN),
			startHeapMb: mb(startHeap),
			endHeapMb: mb(endHeap),
			wrongAttempts,
			leftoverResources: resources.leftover.length,
			failedFirst: Math.ceil(params.n / failEvery)
		},
		checks: {
			everyTaskRanAsExpected: wrongAttempts === 0,
			storageEmptyAtEnd: memory.getStore().length === 0
		},
		info: { resources: resources.all, statusesLeft: statusCounts(memory) }
	};
}
