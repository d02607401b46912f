// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Throughput: N trivial tasks created up front (awaited one by one, as a caller would) on a
// started connector, timed from the first create to the last completion. Then the storage floor:
// every storage call the connector made in that window, recorded by the counting wrapper, is
// replayed back to back on a fresh in-memory connector with no scheduler, so the reader sees how
// much of the wall time the in-memory connector itself costs. The replay uses the very entity
// objects the connector wrote (the in-memory connector keeps references and never mutates them),
// because the connector's linear scans are several times slower over a mix of object shapes than
// over uniform ones, so a synthetic sequence would not cost the same. Finally tinybench measures
// one get/set at the end of the replayed store: the cost per stored entity of a lookup.
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { Bench } from "tinybench";
import { KEYS } from "../../handlers/shared.mjs";
import { CountingStorage } from "../countingStorage.mjs";
import { MapStorage } from "../mapStorage.mjs";
import { createBench, handlerModule, NODE, perTask, shareWithWorkers } from "./common.mjs";

/**
 * Run the throughput scenario, after a small warm-up on a separate storage (discarded), then the
 * storage floor replay.
 * @param {{ n: number, types: number, retainFor: number, warmup: number, micro?: boolean, config?: object, storage?: "memory" | "map" }} params
 *   Tasks, types, retainFor, warm-up tasks, whether to micro-bench, the connector config, and the
 *   storage ("map" only for the ceiling scenario: no floor replay then).
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean> }>} The result.
 */
export async function throughput(params) {
	const calls = new Int32Array(shareWithWorkers(KEYS.noopCalls, 4));
	if (params.warmup > 0) {
		await runOnce({ ...params, n: params.warmup });
	}
	Atomics.store(calls, 0, 0);
	const { metrics, recording } = await runOnce(params);
	const handlerCalls = Atomics.load(calls, 0);
	if (params.storage === "map") {
		// The storage's share of the CPU: the run's storage calls replayed on a fresh Map storage
		// behind a recording CountingStorage, as in the run, since the wrapper's counting and
		// recording are the bench's cost, not ours. What is left of the CPU per task is ours
		// (facade, scheduler, runner, their GC).
		const wrapped = new CountingStorage(new MapStorage({ entitySchema: "BackgroundTask" }));
		wrapped.recording = [];
		const { floorMs } = await replay(recording, wrapped);
		const storageUsPerTask = (floorMs * 1000) / params.n;
		return {
			metrics: {
				...metrics,
				handlerCalls,
				storageUsPerTask,
				ownCpuUsPerTask: metrics.cpuUsPerTask - storageUsPerTask
			},
			checks: { everyHandlerRanOnce: handlerCalls === params.n }
		};
	}
	const { floorMs, memory } = await replay(recording);
	Object.assign(metrics, {
		handlerCalls,
		floorMs,
		floorTasksPerSec: params.n / (floorMs / 1000),
		floorShare: floorMs / metrics.wallMs,
		ownUsPerTask: ((metrics.wallMs - floorMs) * 1000) / params.n
	});
	if (params.micro !== false && memory.getStore().length > 1) {
		Object.assign(metrics, await perEntityCost(memory));
	}
	return {
		metrics,
		checks: {
			everyHandlerRanOnce: handlerCalls === params.n,
			replayLeftSameStore: memory.getStore().length === (params.retainFor === 0 ? 0 : params.n)
		}
	};
}

/**
 * One measured pass.
 * @param {{ n: number, types: number, retainFor: number, config?: object }} params The parameters.
 * @returns {Promise<{ metrics: Record<string, number>, recording: { op: string, args: unknown[] }[] }>}
 *   The metrics and the storage calls made from the first create to the last completion.
 */
async function runOnce(params) {
	const { connector, storage } = createBench(params.config, params.storage);
	const types = Array.from({ length: params.types }, (_, k) => `bench-${k}`);
	for (const type of types) {
		await connector.registerHandler(type, handlerModule("noop"), "noop");
	}
	await connector.start(NODE);
	storage.resetCounts();
	storage.recording = [];
	const done = storage.whenCompleted(params.n);
	const cpu0 = process.cpuUsage();
	const t0 = performance.now();
	for (let i = 0; i < params.n; i++) {
		await connector.create(types[i % types.length], { i }, { retainFor: params.retainFor });
	}
	const tCreated = performance.now();
	await done;
	const t1 = performance.now();
	const cpu = process.cpuUsage(cpu0);
	const recording = storage.recording;
	storage.recording = undefined;
	await connector.stop(NODE);
	const wallMs = t1 - t0;
	return {
		metrics: {
			tasksPerSec: params.n / (wallMs / 1000),
			wallMs,
			createMs: tCreated - t0,
			cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
			tasksPerCpuSec: params.n / ((cpu.user + cpu.system) / 1e6),
			cpuUsPerTask: (cpu.user + cpu.system) / params.n,
			...perTask(storage.counts, params.n)
		},
		recording
	};
}

/**
 * Replay recorded storage calls back to back on a fresh storage (by default the in-memory
 * connector).
 * @param {{ op: string, args: unknown[] }[]} recording The calls.
 * @param {any} [memory] The fresh storage.
 * @returns {Promise<{ floorMs: number, memory: MemoryEntityStorageConnector<any> }>} The time and the store.
 */
async function replay(
	recording,
	memory = new MemoryEntityStorageConnector({ entitySchema: "BackgroundTask" })
) {
	const t0 = performance.now();
	for (const { op, args } of recording) {
		await memory[op](...args);
	}
	return { floorMs: performance.now() - t0, memory };
}

/**
 * tinybench micro-measurement of the in-memory connector: get and set of the last stored entity
 * (a full linear scan) against get of the first (no scan), giving nanoseconds per stored entity.
 * @param {MemoryEntityStorageConnector<any>} memory A connector holding the retained tasks.
 * @returns {Promise<Record<string, number>>} Mean latencies (ns) and ns per entity.
 */
async function perEntityCost(memory) {
	const store = memory.getStore();
	const size = store.length;
	const first = store[0];
	const last = store[size - 1];
	const bench = new Bench({ time: 200, warmupTime: 50, iterations: 20 });
	bench
		.add("get first", async () => memory.get(first.id))
		.add("get last", async () => memory.get(last.id))
		.add("set last", async () => memory.set(last));
	await bench.run();
	const meanNs = name => (bench.getTask(name)?.result?.latency.mean ?? Number.NaN) * 1e6;
	return {
		getFirstNs: meanNs("get first"),
		getLastNs: meanNs("get last"),
		setLastNs: meanNs("set last"),
		getNsPerEntity: (meanNs("get last") - meanNs("get first")) / size,
		setNsPerEntity: (meanNs("set last") - meanNs("get first")) / size
	};
}
