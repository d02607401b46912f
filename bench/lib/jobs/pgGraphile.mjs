// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// graphile-worker, the peer of the PostgreSQL benchmarks (issue 10, item 7), on the shared server
// in its own database (bench_graphile) and a fresh schema per run (dropped at the end), with its
// fastest documented settings (https://worker.graphile.org/docs/performance, "batching"): a local
// queue of 500 jobs, batched completion and failure (delay 0), concurrentJobs 8, a pool of
// concurrentJobs + 2 connections (its documented recommendation), prepared statements on (its
// default), Node's clock for run_at (useNodeTime; same machine), pollInterval left at its default
// (new jobs arrive through LISTEN/NOTIFY). `GRAPHILE_SETTINGS` is exactly what is passed.
//
// Jobs: backlog (N noop jobs added with addJobs in batches of 1,000, measured as the bulk add
// rate; then processed, measured from run() to the last completion committed), addJob (awaited one
// by one on a running worker), addJobs (batches awaited one by one, with or without a worker
// running: the peer of our createMany), and the graphile side of the multi-node jobs (pgNode.mjs).
// graphile-worker 0.18 declares node >= 22.18; it runs unchanged on Node 20 here.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import {
	adminSql,
	benchPostgres,
	connectionString,
	CpuMeter,
	insertTransactions,
	nowUs,
	payloadBatches,
	settleServer,
	tally,
	uniqueName,
	waitForAsync,
	walBytesSince,
	walPosition
} from "./pgCommon.mjs";

// The `pg` client graphile-worker itself uses (its dependency), for a pool opened and warmed
// before the measured window, as our connector's pool is.
const pg = createRequire(fileURLToPath(import.meta.resolve("graphile-worker")))("pg");

/**
 * graphile-worker's logger for the benchmark: warnings and errors to stderr, nothing else.
 */
export const quietLogger = new Logger(scope => (level, message) => {
	if (level === "error" || level === "warning") {
		process.stderr.write(`graphile-worker ${level} (${JSON.stringify(scope)}): ${message}\n`);
	}
});

/**
 * The worker settings of every graphile-worker run, before the schema and logger are added.
 * @param {number} concurrency concurrentJobs.
 * @param {number} [localQueueSize] localQueue.size: 500 (its performance page) for the noop
 *   backlog; the multi-node scaling job passes concurrency + 1 (its documented starting point),
 *   since a queue of 500 lets the first node lock the whole backlog of slow jobs.
 * @returns {Record<string, unknown>} preset.worker.
 */
export function graphileSettings(concurrency = 8, localQueueSize = 500) {
	return {
		concurrentJobs: concurrency,
		maxPoolSize: concurrency + 2,
		localQueue: { size: localQueueSize },
		completeJobBatchDelay: 0,
		failJobBatchDelay: 0,
		useNodeTime: true,
		preparedStatements: true
	};
}

/**
 * A graphile-worker context on the benchmark server: connection string, a fresh schema migrated
 * through makeWorkerUtils, an admin client on its database.
 * @returns {Promise<{ server: ReturnType<typeof benchPostgres>, conn: string, schema: string, utils: import("graphile-worker").WorkerUtils, admin: import("postgres").Sql, close: () => Promise<void> }>}
 *   The context; close() drops the schema.
 */
export async function graphileContext() {
	const server = benchPostgres();
	const conn = connectionString(server, server.databases.graphile);
	const schema = uniqueName("gw");
	const admin = adminSql(server, server.databases.graphile);
	const utils = await makeWorkerUtils({ connectionString: conn, schema, logger: quietLogger });
	return {
		server,
		conn,
		schema,
		utils,
		admin,
		close: async () => {
			await utils.release();
			await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await admin.end({ timeout: 5 });
		}
	};
}

/**
 * A pg pool of `max` connections, all opened before it is returned.
 * @param {string} conn The connection string.
 * @param {number} max The pool size.
 * @returns {Promise<import("pg").Pool>} The pool.
 */
export async function warmPool(conn, max) {
	const pool = new pg.Pool({ connectionString: conn, max });
	// An idle client's error (the server going away) must not crash the process; graphile-worker
	// handles errors of the clients it holds.
	const onError = err => process.stderr.write(`graphile-worker pool: ${err.message}\n`);
	pool.on("error", onError);
	pool.on("connect", client => client.on("error", onError));
	const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
	await Promise.all(clients.map(c => c.query("SELECT 1")));
	for (const c of clients) {
		c.release();
	}
	return pool;
}

/**
 * Start a runner with the benchmark settings on a warmed pool.
 * @param {{ schema: string }} ctx The context.
 * @param {import("pg").Pool} pool The pool.
 * @param {Record<string, Function>} taskList The tasks.
 * @param {number} concurrency concurrentJobs.
 * @param {import("node:events").EventEmitter} [events] An emitter for worker events.
 * @param {number} [localQueueSize] localQueue.size (default 500).
 * @returns {Promise<import("graphile-worker").Runner>} The runner.
 */
export function startRunner(ctx, pool, taskList, concurrency, events, localQueueSize) {
	return run({
		pgPool: pool,
		noHandleSignals: true,
		taskList,
		events,
		preset: {
			worker: {
				...graphileSettings(concurrency, localQueueSize),
				schema: ctx.schema,
				logger: quietLogger
			}
		}
	});
}

/**
 * Jobs left in the queue (pending, locked or failed).
 * @param {{ admin: import("postgres").Sql, schema: string }} ctx The context.
 * @returns {Promise<number>} The count.
 */
export async function jobsLeft(ctx) {
	const [row] = await ctx.admin.unsafe(
		`SELECT count(*)::int AS c FROM ${ctx.schema}._private_jobs`
	);
	return row.c;
}

/**
 * Add jobs with addJobs in batches.
 * @param {{ utils: import("graphile-worker").WorkerUtils }} ctx The context.
 * @param {string} identifier The task.
 * @param {number} from The first index.
 * @param {number} n How many.
 * @param {number} batch Jobs per addJobs call.
 * @param {Record<string, unknown>} [extra] More payload fields.
 * @returns {Promise<number>} The wall time, ms.
 */
export async function addBacklog(ctx, identifier, from, n, batch, extra = {}) {
	const t0 = performance.now();
	for (let start = from; start < from + n; start += batch) {
		const specs = [];
		for (let i = start; i < Math.min(from + n, start + batch); i++) {
			specs.push({ identifier, payload: { i, ...extra } });
		}
		await ctx.utils.addJobs(specs);
	}
	return performance.now() - t0;
}

/**
 * Process a backlog of n noop jobs: add them (addJobs, timed), settle the server, then run a
 * worker from run() until the last completion is committed (no job left in the table).
 * @param {Awaited<ReturnType<typeof graphileContext>>} ctx The context.
 * @param {number} n Jobs.
 * @param {number} concurrency concurrentJobs.
 * @param {number} batch Jobs per addJobs call.
 * @returns {Promise<{ metrics: Record<string, number>, counts: Uint8Array }>} The measures and
 *   the runs per job.
 */
async function processBacklog(ctx, n, concurrency, batch) {
	const addMs = await addBacklog(ctx, "noop", 0, n, batch);
	await settleServer(ctx.admin, `${ctx.schema}._private_jobs`);
	const counts = new Uint8Array(n);
	let done = 0;
	let firstStart;
	let allRan;
	const ran = new Promise(resolve => {
		allRan = resolve;
	});
	const taskList = {
		noop: async payload => {
			firstStart ??= performance.now();
			counts[payload.i]++;
			if (++done === n) {
				allRan();
			}
		}
	};
	const pool = await warmPool(ctx.conn, concurrency + 2);
	const meter = new CpuMeter(ctx.server.postmasterPid);
	meter.start();
	const t0 = performance.now();
	const runner = await startRunner(ctx, pool, taskList, concurrency);
	await ran;
	// The last completions are batched: the window ends when they are committed.
	await waitForAsync(
		async () => (await jobsLeft(ctx)) === 0,
		60_000,
		"graphile-worker's last completions"
	);
	const metrics = meter.stop(n);
	await runner.stop();
	await pool.end();
	return {
		metrics: {
			...metrics,
			startMs: firstStart - t0,
			steadyTasksPerSec: n / ((performance.now() - firstStart) / 1000),
			addJobsPerSec: n / (addMs / 1000)
		},
		counts
	};
}

/**
 * The backlog job: a discarded warm-up pass, then the measured one, in the same schema.
 * @param {{ n: number, concurrency: number, warmup: number, addJobsBatch: number }} params The
 *   parameters.
 * @returns {Promise<object>} The result.
 */
export async function graphileBacklog(params) {
	const ctx = await graphileContext();
	try {
		if (params.warmup > 0) {
			await processBacklog(ctx, params.warmup, params.concurrency, params.addJobsBatch);
		}
		const { metrics, counts } = await processBacklog(
			ctx,
			params.n,
			params.concurrency,
			params.addJobsBatch
		);
		const t = tally(counts, params.n);
		return {
			metrics: { ...metrics, ...t },
			checks: {
				everyJobRanOnce: t.ranOnce === params.n,
				queueEmptyAtEnd: (await jobsLeft(ctx)) === 0
			},
			info: { graphileWorker: graphileSettings(params.concurrency), schema: ctx.schema }
		};
	} finally {
		await ctx.close();
	}
}

/**
 * A worker for the add jobs: a noop task that counts each job by its payload index, on a running
 * runner with its warmed pool, or nothing when no worker runs.
 * @param {Awaited<ReturnType<typeof graphileContext>>} ctx The context.
 * @param {boolean} withWorker Whether a worker runs.
 * @param {number} total Job indexes 0 .. total - 1.
 * @param {number} concurrency concurrentJobs.
 * @returns {Promise<{ counts: Uint8Array, ranCount: () => number, pool?: import("pg").Pool, runner?: import("graphile-worker").Runner }>}
 *   The runs per index, the jobs run so far, and the pool and runner to stop.
 */
async function countingWorker(ctx, withWorker, total, concurrency) {
	const counts = new Uint8Array(total);
	let done = 0;
	const taskList = {
		noop: async payload => {
			counts[payload.i]++;
			done++;
		}
	};
	const pool = withWorker ? await warmPool(ctx.conn, concurrency + 2) : undefined;
	const runner = withWorker ? await startRunner(ctx, pool, taskList, concurrency) : undefined;
	return { counts, ranCount: () => done, pool, runner };
}

/**
 * Wait until every job ran and its completion removed it from the table.
 * @param {Awaited<ReturnType<typeof graphileContext>>} ctx The context.
 * @param {() => number} ranCount The jobs run so far.
 * @param {number} total The jobs.
 */
async function allRun(ctx, ranCount, total) {
	await waitForAsync(async () => ranCount() === total, 120_000, "the jobs to run", 2);
	await waitForAsync(async () => (await jobsLeft(ctx)) === 0, 60_000, "the last completions");
}

/**
 * addJob awaited one by one, after a discarded warm-up of the same kind: on a running worker
 * processing the jobs as they come (runner.addJob; then until every job completed), or with
 * `worker: false` on no worker at all (WorkerUtils.addJob: the insert alone, as the anchor
 * of about 520 jobs/s was measured).
 * @param {{ n: number, concurrency: number, warmup: number, worker?: boolean }} params The
 *   parameters.
 * @returns {Promise<object>} The result.
 */
export async function graphileAddJob(params) {
	const withWorker = params.worker !== false;
	const ctx = await graphileContext();
	const total = params.warmup + params.n;
	const { counts, ranCount, pool, runner } = await countingWorker(
		ctx,
		withWorker,
		total,
		params.concurrency
	);
	const addJob = runner ? runner.addJob : ctx.utils.addJob;
	try {
		for (let i = 0; i < params.warmup; i++) {
			await addJob("noop", { i });
		}
		if (withWorker) {
			await waitForAsync(async () => ranCount() === params.warmup, 60_000, "the warm-up jobs", 5);
		}
		const meter = new CpuMeter(ctx.server.postmasterPid);
		meter.start();
		const t0 = performance.now();
		for (let i = params.warmup; i < total; i++) {
			await addJob("noop", { i });
		}
		const addMs = performance.now() - t0;
		const addMetrics = meter.stop(params.n);
		let checks;
		let ran = {};
		let allDoneMs;
		if (withWorker) {
			await allRun(ctx, ranCount, total);
			allDoneMs = performance.now() - t0;
			ran = tally(counts.subarray(params.warmup), params.n);
			checks = { everyJobRanOnce: ran.ranOnce === params.n };
		} else {
			checks = { everyJobStored: (await jobsLeft(ctx)) === total };
		}
		return {
			metrics: {
				addJobPerSec: params.n / (addMs / 1000),
				tasksPerSec: params.n / (addMs / 1000),
				addMs,
				allDoneMs,
				hostCpuUsPerTask: addMetrics.hostCpuUsPerTask,
				serverCpuUsPerTask: addMetrics.serverCpuUsPerTask,
				machineCpuUsPerTask: addMetrics.machineCpuUsPerTask,
				...ran
			},
			checks,
			info: {
				graphileWorker: withWorker ? graphileSettings(params.concurrency) : "no worker running",
				schema: ctx.schema
			}
		};
	} finally {
		await runner?.stop();
		await pool?.end();
		await ctx.close();
	}
}

/**
 * WorkerUtils.addJobs awaited batch after batch (the peer of our createMany), after a discarded
 * warm-up of the same kind: on a running worker processing the jobs as they come (then until
 * every job completed), or with `worker: false` on no worker at all (the insert alone; the jobs
 * stay in the table). Runner has no addJobs in 0.18, so it is always the WorkerUtils' (its own
 * pool, as graphileContext makes it), also while a runner runs. The payloads are built before the
 * window; the job specs ({ identifier, payload }) inside it, as a caller builds them.
 * @param {{ n: number, batch: number, concurrency: number, warmup: number, worker?: boolean }} params
 *   The parameters: jobs measured, jobs per addJobs call, concurrentJobs, warm-up jobs, and
 *   whether a worker runs.
 * @returns {Promise<object>} The result.
 */
export async function graphileAddJobs(params) {
	const withWorker = params.worker !== false;
	const ctx = await graphileContext();
	const total = params.warmup + params.n;
	const { counts, ranCount, pool, runner } = await countingWorker(
		ctx,
		withWorker,
		total,
		params.concurrency
	);
	const addAll = async batches => {
		let returned = 0;
		let outOfOrder = 0;
		for (const payloads of batches) {
			const jobs = await ctx.utils.addJobs(
				payloads.map(payload => ({ identifier: "noop", payload }))
			);
			returned += jobs.length;
			outOfOrder += jobs.filter((job, k) => job.payload?.i !== payloads[k].i).length;
		}
		return { returned, outOfOrder };
	};
	try {
		// Warm-up: indexes n .. total - 1; measured: 0 .. n - 1.
		await addAll(payloadBatches(params.n, params.warmup, params.batch));
		if (withWorker) {
			await waitForAsync(async () => ranCount() === params.warmup, 60_000, "the warm-up jobs", 5);
		}
		const batches = payloadBatches(0, params.n, params.batch);
		const wal0 = await walPosition(ctx.admin);
		const meter = new CpuMeter(ctx.server.postmasterPid);
		meter.start();
		const t0 = performance.now();
		const { returned, outOfOrder } = await addAll(batches);
		const addMs = performance.now() - t0;
		const addMetrics = meter.stop(params.n);
		const walBytes = await walBytesSince(ctx.admin, wal0);
		// Before the worker (if any) updates a row: afterwards xmin is the completion's.
		const transactions = withWorker
			? Number.NaN
			: await insertTransactions(ctx.admin, `${ctx.schema}._private_jobs`, params.n);
		let checks = { everyJobReturned: returned === params.n };
		let ran = {};
		let allDoneMs;
		if (withWorker) {
			await allRun(ctx, ranCount, total);
			allDoneMs = performance.now() - t0;
			ran = tally(counts, params.n);
			checks = { ...checks, everyJobRanOnce: ran.ranOnce === params.n };
		} else {
			checks = { ...checks, everyJobStored: (await jobsLeft(ctx)) === total };
		}
		return {
			metrics: {
				addJobsPerSec: params.n / (addMs / 1000),
				tasksPerSec: params.n / (addMs / 1000),
				addMs,
				allDoneMs,
				// With a worker only: first call to the last job run and deleted.
				createdAndRunPerSec: withWorker ? params.n / (allDoneMs / 1000) : Number.NaN,
				batches: batches.length,
				// Jobs whose returned row is not at the position of their spec: add_jobs returns the
				// rows of `INSERT ... SELECT ... FROM unnest(specs) JOIN tasks ... RETURNING *`, whose
				// order SQL does not promise (reported, not a check: it is graphile-worker's contract).
				jobsReturnedOutOfOrder: outOfOrder,
				// No worker only: a running worker's claims and completions rewrite the rows.
				transactionsPerCall: transactions / batches.length,
				// With a worker running, its claims' and completions' WAL is included.
				walBytesPerTask: walBytes / params.n,
				hostCpuUsPerTask: addMetrics.hostCpuUsPerTask,
				serverCpuUsPerTask: addMetrics.serverCpuUsPerTask,
				machineCpuUsPerTask: addMetrics.machineCpuUsPerTask,
				...ran
			},
			checks,
			info: {
				graphileWorker: withWorker ? graphileSettings(params.concurrency) : "no worker running",
				schema: ctx.schema
			}
		};
	} finally {
		await runner?.stop();
		await pool?.end();
		await ctx.close();
	}
}

/**
 * The graphile side of a node process (pgNode.mjs): a runner in the coordinator's schema running
 * `sleep` (payload.ms) and `stamp` jobs.
 * @param {{ schema: string, concurrency: number, startNow: boolean, n: number, localQueueSize?: number }} options
 *   The schema, the concurrency, whether to start the runner at once (latency: an idle node) or on
 *   go (scaling: the backlog is already there, so the runner's start-up is in the window), the
 *   number of jobs (indexes 0 .. n - 1), and localQueue.size (default 500).
 * @param {{ onRan: (i: number) => void, onStamp: (i: number, at: number) => void }} hooks Hooks.
 * @returns {Promise<{ go: () => Promise<void>, stop: () => Promise<void>, counts: () => ArrayLike<number> }>}
 *   The node; resolves once ready (runner listening when startNow).
 */
export async function graphileNode(options, hooks) {
	const server = benchPostgres();
	const conn = connectionString(server, server.databases.graphile);
	const pool = await warmPool(conn, options.concurrency + 2);
	const counts = new Uint8Array(options.n);
	const ran = i => {
		counts[i]++;
		hooks.onRan(i);
	};
	const taskList = {
		sleep: async payload => {
			await new Promise(resolve => setTimeout(resolve, payload.ms));
			ran(payload.i);
		},
		stamp: async payload => {
			hooks.onStamp(payload.i, nowUs());
			ran(payload.i);
		}
	};
	const { EventEmitter } = await import("node:events");
	let runner;
	const start = async () => {
		const events = new EventEmitter();
		const listening = new Promise(resolve => events.once("pool:listen:success", resolve));
		runner = await startRunner(
			{ schema: options.schema },
			pool,
			taskList,
			options.concurrency,
			events,
			options.localQueueSize
		);
		return listening;
	};
	if (options.startNow) {
		await start();
	}
	return {
		go: async () => {
			if (!runner) {
				await start();
			}
		},
		stop: async () => {
			await runner?.stop();
			await pool.end();
		},
		counts: () => counts
	};
}
