// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Our connector's PostgreSQL jobs, the same for both backends (pgEntityStorage.mjs: the
// entity-storage path over TWIN's connector; pgNative.mjs: the native backend):
// - backlog: N pending tasks (retainFor 0) in the table before the handler is registered on the
//   started connector, timed from registerHandler to the last completion (the last success
//   state-change callback, then confirmed in SQL: no task of the type left unfinished). The
//   backlog is one task made by create() cloned in SQL (pgCommon.cloneBacklog), so every row is
//   exactly what create() stores, without a setup of minutes through the entity-storage path.
// - create: create() awaited one by one (retainFor 0) on the started connector processing them,
//   timed from the first create to the last one resolved.
// - createMany: createMany() in batches awaited one after another (retainFor 0), on the started
//   connector processing them, or with no handler registered until the window ended (the insert
//   alone; then they are run); also over TWIN's in-memory connector (`memory`) for reference.
// Each after a discarded warm-up of the same kind, in the same process (JIT, pools, workers).
import { createBench, NODE, sleep } from "./common.mjs";
import { entityStorageBackend } from "./pgEntityStorage.mjs";
import {
	CpuMeter,
	benchPostgres,
	cloneBacklog,
	insertTransactions,
	FINAL_STATUSES,
	payloadBatches,
	perTaskCounters,
	settleServer,
	tally,
	waitForAsync,
	walBytesSince,
	walPosition
} from "./pgCommon.mjs";
import { HANDLERS, nativeBackend } from "./pgNative.mjs";

/**
 * The entity-storage path over TWIN's in-memory connector (the reference of the createMany jobs:
 * no database), behind the counting wrapper; no admin client or table.
 */
const memoryBackend = {
	name: "entity-storage over MemoryEntityStorageConnector",

	/**
	 * A connector over a fresh in-memory store.
	 * @param {object} config The connector config.
	 * @returns {Promise<object>} The connector, the wrapper and the raw store.
	 */
	async open(config) {
		const { connector, storage, memory } = createBench(config);
		return { connector, storage, memory, close: async () => {} };
	}
};

const BACKENDS = {
	"entity-storage": entityStorageBackend,
	native: nativeBackend,
	memory: memoryBackend
};

/**
 * The result of a job whose backend the built package does not have yet.
 * @param {string} reason Why.
 * @returns {object} A successful result with metric available = 0 and the reason.
 */
export function notAvailable(reason) {
	return { metrics: { available: 0 }, checks: {}, info: { notAvailable: reason } };
}

/**
 * Unfinished tasks of a type.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {string} type The type.
 * @returns {Promise<number>} The count.
 */
async function unfinished(sql, table, type) {
	const [row] = await sql.unsafe(
		`SELECT count(*)::int AS c FROM "${table}" WHERE "type" = $1 AND NOT ("status" = ANY($2::text[]))`,
		[type, FINAL_STATUSES]
	);
	return row.c;
}

/**
 * Rows of a type.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {string} type The type.
 * @returns {Promise<number>} The count.
 */
async function rowsOf(sql, table, type) {
	const [row] = await sql.unsafe(`SELECT count(*)::int AS c FROM "${table}" WHERE "type" = $1`, [
		type
	]);
	return row.c;
}

/**
 * Open a backend, run a body on its started connector, stop and clean up.
 * @param {{ backend: string, mode: "inline" | "worker", concurrency: number }} params The backend
 *   and connector config.
 * @param {number} counters How many per-task counters to publish (before the worker pool starts).
 * @param {(opened: any, counts: Uint8Array) => Promise<object>} body The measurement.
 * @returns {Promise<object>} The job result.
 */
async function withConnector(params, counters, body) {
	const backend = BACKENDS[params.backend];
	if (!backend) {
		throw new Error(`Unknown backend ${params.backend}`);
	}
	const counts = perTaskCounters(counters);
	const opened = await backend.open({
		executionMode: params.mode,
		concurrency: params.concurrency
	});
	if (opened.notAvailable) {
		return notAvailable(opened.notAvailable);
	}
	let started = false;
	try {
		await opened.connector.start(NODE);
		started = true;
		const result = await body(opened, counts);
		result.metrics.available = 1;
		result.info = { ...result.info, backend: backend.name, table: opened.table };
		return result;
	} finally {
		if (started) {
			await opened.connector.stop(NODE);
		}
		await opened.close();
	}
}

/**
 * Process one backlog of `count` tasks of `type`, indexes from .. from + count - 1.
 * @param {any} opened The opened backend.
 * @param {string} type The task type (no handler registered yet).
 * @param {number} from The first index.
 * @param {number} count The tasks.
 * @returns {Promise<Record<string, number>>} The measures.
 */
async function processBacklog(opened, type, from, count) {
	const { connector, sql, table, storage } = opened;
	await connector.create(type, { i: from }, { retainFor: 0 });
	const [template] = await sql.unsafe(`SELECT "id" FROM "${table}" WHERE "type" = $1`, [type]);
	await cloneBacklog(sql, table, template.id, from + 1, count - 1);
	await settleServer(sql, `"${table}"`);
	await sleep(100);
	let done = 0;
	let firstStart;
	let allDone;
	const finished = new Promise(resolve => {
		allDone = resolve;
	});
	const onState = async task => {
		if (task.status === "processing") {
			firstStart ??= performance.now();
		} else if (task.status === "success" && ++done === count) {
			allDone();
		}
	};
	storage?.resetCounts();
	const meter = new CpuMeter(benchPostgres().postmasterPid);
	meter.start();
	const t0 = performance.now();
	await connector.registerHandler(type, HANDLERS, "count", onState);
	await finished;
	await waitForAsync(
		async () => (await unfinished(sql, table, type)) === 0,
		60_000,
		"the last completions"
	);
	const metrics = meter.stop(count);
	const calls = storage
		? {
				setPerTask: storage.counts.set / count,
				getPerTask: storage.counts.get / count,
				removePerTask: storage.counts.remove / count,
				queryPerTask: storage.counts.query / count
			}
		: {};
	return {
		...metrics,
		...calls,
		startMs: firstStart - t0,
		steadyTasksPerSec: count / ((performance.now() - firstStart) / 1000),
		rowsLeft: await rowsOf(sql, table, type)
	};
}

/**
 * The backlog job.
 * @param {{ backend: string, mode: "inline" | "worker", concurrency: number, n: number, warmup: number }} params
 *   The parameters.
 * @returns {Promise<object>} The result.
 */
export async function connectorBacklog(params) {
	return withConnector(params, params.n + params.warmup, async (opened, counts) => {
		if (params.warmup > 0) {
			await processBacklog(opened, "bench-warm-up", params.n, params.warmup);
		}
		const metrics = await processBacklog(opened, "bench", 0, params.n);
		const t = tally(counts, params.n);
		return {
			metrics: { ...metrics, ...t },
			checks: { everyTaskRanOnce: t.ranOnce === params.n, tableEmptyAtEnd: metrics.rowsLeft === 0 }
		};
	});
}

/**
 * The create-one-by-one job.
 * @param {{ backend: string, mode: "inline" | "worker", concurrency: number, n: number, warmup: number }} params
 *   The parameters.
 * @returns {Promise<object>} The result.
 */
export async function connectorCreate(params) {
	const total = params.warmup + params.n;
	return withConnector(params, total, async (opened, counts) => {
		const { connector, sql, table } = opened;
		let done = 0;
		await connector.registerHandler("bench", HANDLERS, "count", async task => {
			if (task.status === "success") {
				done++;
			}
		});
		for (let i = params.n; i < total; i++) {
			await connector.create("bench", { i }, { retainFor: 0 });
		}
		await waitForAsync(async () => done === params.warmup, 60_000, "the warm-up tasks", 5);
		const meter = new CpuMeter(benchPostgres().postmasterPid);
		meter.start();
		const t0 = performance.now();
		for (let i = 0; i < params.n; i++) {
			await connector.create("bench", { i }, { retainFor: 0 });
		}
		const createMs = performance.now() - t0;
		const metrics = meter.stop(params.n);
		await waitForAsync(async () => done === total, 120_000, "the tasks to run", 2);
		await waitForAsync(
			async () => (await unfinished(sql, table, "bench")) === 0,
			60_000,
			"the last completions"
		);
		const allDoneMs = performance.now() - t0;
		const t = tally(counts, params.n);
		return {
			metrics: {
				createPerSec: params.n / (createMs / 1000),
				tasksPerSec: params.n / (createMs / 1000),
				createMs,
				allDoneMs,
				hostCpuUsPerTask: metrics.hostCpuUsPerTask,
				serverCpuUsPerTask: metrics.serverCpuUsPerTask,
				machineCpuUsPerTask: metrics.machineCpuUsPerTask,
				...t
			},
			checks: { everyTaskRanOnce: t.ranOnce === params.n }
		};
	});
}

/**
 * The createMany job: `n` tasks created with createMany in batches of `batch` payloads, each call
 * awaited before the next, timed from the first call to the last one resolved (payloads built
 * before the window). With `processing` the handler is registered first and the started connector
 * runs the tasks as they come (the conditions of the create job); without it no handler is
 * registered until the window has ended, so the window holds the inserts alone (then the ids are
 * checked against the stored payloads and the tasks are run). Without `processing`, the
 * transactions that stored the measured rows are counted (pgCommon.insertTransactions) per call:
 * 1 when a call's tasks are stored by one INSERT, the batch size when each is written on its own.
 * @param {{ backend: string, mode: "inline" | "worker", processing: boolean, concurrency: number, n: number, batch: number, warmup: number }} params
 *   The parameters.
 * @returns {Promise<object>} The result.
 */
export async function connectorCreateMany(params) {
	const total = params.warmup + params.n;
	return withConnector(params, total, async (opened, counts) => {
		const { connector, sql, table, memory } = opened;
		let done = 0;
		const register = () =>
			connector.registerHandler("bench", HANDLERS, "count", async task => {
				if (task.status === "success") {
					done++;
				}
			});
		if (params.processing) {
			await register();
		}
		// Warm-up: indexes n .. total - 1; measured: 0 .. n - 1.
		for (const payloads of payloadBatches(params.n, params.warmup, params.batch)) {
			await connector.createMany("bench", payloads, { retainFor: 0 });
		}
		if (params.processing) {
			await waitForAsync(async () => done === params.warmup, 60_000, "the warm-up tasks", 5);
		}
		const batches = payloadBatches(0, params.n, params.batch);
		const ids = [];
		let idsPerCallOk = true;
		const wal0 = sql ? await walPosition(sql) : undefined;
		const meter = new CpuMeter(params.backend === "memory" ? 0 : benchPostgres().postmasterPid);
		meter.start();
		const t0 = performance.now();
		for (const payloads of batches) {
			const batchIds = await connector.createMany("bench", payloads, { retainFor: 0 });
			idsPerCallOk &&= batchIds.length === payloads.length;
			ids.push(...batchIds);
		}
		const createMs = performance.now() - t0;
		const metrics = meter.stop(params.n);
		const walBytes = sql ? await walBytesSince(sql, wal0) : Number.NaN;
		// Before a claim rewrites a row (no handler registered yet).
		const transactions =
			sql && !params.processing
				? await insertTransactions(sql, `"${table}"`, params.n)
				: Number.NaN;
		const checks = {
			oneIdPerPayload: idsPerCallOk && ids.length === params.n,
			idsUnique: new Set(ids).size === ids.length
		};
		if (!params.processing) {
			// The id at position k is the task of payload k: first and last of the first and last batch.
			const sample = [
				...new Set([0, params.batch - 1, params.n - params.batch, params.n - 1])
			].filter(k => k >= 0 && k < ids.length);
			const tasks = await Promise.all(sample.map(k => connector.get(ids[k])));
			checks.idsInPayloadOrder = tasks.every((task, j) => task?.payload?.i === sample[j]);
			await register();
		}
		await waitForAsync(async () => done === total, 600_000, "the tasks to run", 2);
		if (sql) {
			await waitForAsync(
				async () => (await unfinished(sql, table, "bench")) === 0,
				60_000,
				"the last completions"
			);
		} else {
			await waitForAsync(
				async () => memory.getStore().length === 0,
				60_000,
				"the last removals",
				5
			);
		}
		const allDoneMs = performance.now() - t0;
		const t = tally(counts, total);
		checks.everyTaskRanOnce = t.ranOnce === total;
		return {
			metrics: {
				createManyPerSec: params.n / (createMs / 1000),
				tasksPerSec: params.n / (createMs / 1000),
				createMs,
				allDoneMs,
				// Processing only: first call to the last task run and its row removed.
				createdAndRunPerSec: params.processing ? params.n / (allDoneMs / 1000) : Number.NaN,
				batches: batches.length,
				transactionsPerCall: transactions / batches.length,
				// Processing runs include the claims' and settles' WAL.
				walBytesPerTask: walBytes / params.n,
				hostCpuUsPerTask: metrics.hostCpuUsPerTask,
				serverCpuUsPerTask: params.backend === "memory" ? undefined : metrics.serverCpuUsPerTask,
				machineCpuUsPerTask: metrics.machineCpuUsPerTask,
				...t
			},
			checks
		};
	});
}
