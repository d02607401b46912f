// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Latency on an idle connector: one task at a time, from just before create() to the moment its
// handler starts in a worker (stamped by the handler into shared memory, epoch microseconds from
// performance.timeOrigin + now(), which agree across threads to a few microseconds), and to the
// moment the claim (status processing) is written, on the host clock.
import { KEYS } from "../../handlers/shared.mjs";
import {
	createBench,
	handlerModule,
	NODE,
	percentile,
	shareWithWorkers,
	sleep
} from "./common.mjs";

/**
 * Epoch microseconds, high resolution.
 * @returns {number} Microseconds.
 */
function nowUs() {
	return (performance.timeOrigin + performance.now()) * 1000;
}

/**
 * Run the latency scenario.
 * @param {{ samples: number, warmup: number, gapMs: number, config?: object }} params Measured
 *   samples, discarded warm-up samples (the first tasks import the handler in each worker), the idle
 *   gap between samples and the connector config.
 * @returns {Promise<{ metrics: Record<string, number>, checks: Record<string, boolean> }>} The result.
 */
export async function latency(params) {
	const total = params.warmup + params.samples;
	const stamps = new BigInt64Array(shareWithWorkers(KEYS.latencyStamps, total * 8));
	const { connector, storage } = createBench(params.config);
	const created = new Float64Array(total);
	const claimed = new Float64Array(total);
	storage.onSet = entity => {
		if (entity.status === "processing" && entity.payload) {
			claimed[entity.payload.i] = nowUs();
		}
	};
	await connector.registerHandler("latency", handlerModule("latency"), "stamp");
	await connector.start(NODE);
	await sleep(50);
	for (let i = 0; i < total; i++) {
		const done = storage.whenCompleted(i + 1);
		created[i] = nowUs();
		await connector.create("latency", { i });
		await done;
		await sleep(params.gapMs);
	}
	await connector.stop(NODE);

	const toHandler = [];
	const toClaim = [];
	for (let i = params.warmup; i < total; i++) {
		toHandler.push((Number(stamps[i]) - created[i]) / 1000);
		toClaim.push((claimed[i] - created[i]) / 1000);
	}
	toHandler.sort((a, b) => a - b);
	toClaim.sort((a, b) => a - b);
	return {
		metrics: {
			p50Ms: percentile(toHandler, 50),
			p90Ms: percentile(toHandler, 90),
			p99Ms: percentile(toHandler, 99),
			maxMs: toHandler[toHandler.length - 1],
			meanMs: toHandler.reduce((a, b) => a + b, 0) / toHandler.length,
			claimP50Ms: percentile(toClaim, 50),
			claimP99Ms: percentile(toClaim, 99)
		},
		checks: {
			everySampleStamped: toHandler.every(v => Number.isFinite(v) && v > 0)
		}
	};
}
