// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The PostgreSQL scenarios of the catalogue (issue 10, item 7): our native PostgreSQL backend, our
// entity-storage path over TWIN's PostgreSqlEntityStorageConnector and graphile-worker, side by
// side in one run on one local server (bench/lib/postgresServer.mjs: PostgreSQL's default
// durability settings, started by run.mjs for these scenarios only). Ratios are computed run by
// run (run r of one job against run r of the other; runs are interleaved, so the two ran minutes
// apart at most) and summarised by their median.
//
// The native backend's jobs report "not available" until dist/esm has it (see jobs/pgNative.mjs):
// their rows, and every ratio that needs them, say so instead of failing, and show numbers as
// soon as the backend lands.
import { count, evaluateRow, summarize } from "./stats.mjs";

/**
 * Why a job's runs could not measure (the built package has no native backend), if so.
 * @param {import("./stats.mjs").Aggregates} agg The aggregates.
 * @param {string[]} jobs The job ids.
 * @returns {string | undefined} The reason, undefined when every job measured (or failed).
 */
function unavailable(agg, jobs) {
	for (const job of jobs) {
		const run = (agg.jobs.get(job)?.runs ?? []).find(r => r.ok && r.metrics?.available === 0);
		if (run) {
			return run.info?.notAvailable ?? "not available";
		}
	}
	return undefined;
}

/**
 * The row of a metric that cannot be measured yet.
 * @param {string} metric The metric.
 * @param {object | undefined} target The target.
 * @param {string} unit The unit.
 * @param {string} reason Why.
 * @returns {object} The evaluated row: no value, no verdict.
 */
function notAvailableRow(metric, target, unit, reason) {
	return {
		metric,
		unit: "text",
		median: "not available",
		min: null,
		max: null,
		runs: 0,
		target: target
			? (target.label ?? `${target.op} ${target.value}${unit === "ms" ? " ms" : ""}`)
			: undefined,
		pass: undefined,
		notAvailable: reason
	};
}

/**
 * A row of one job's metric, "not available" while the job cannot measure.
 * @param {string} metric The metric.
 * @param {string} job The job id.
 * @param {string} key The metric key.
 * @param {string} unit The unit.
 * @param {object} [target] The target.
 * @returns {object} The row.
 */
export function row(metric, job, key, unit, target) {
	return {
		metric,
		evaluate: agg => {
			const reason = unavailable(agg, [job]);
			return reason
				? notAvailableRow(metric, target, unit, reason)
				: evaluateRow({ metric, job, key, unit, target }, agg);
		}
	};
}

/**
 * A row of the ratio of two jobs' metrics, run by run (run r against run r), summarised.
 * @param {string} metric The metric.
 * @param {[string, string]} numerator Job id and key.
 * @param {[string, string]} denominator Job id and key.
 * @param {object} [target] The target.
 * @returns {object} The row.
 */
export function ratio(metric, numerator, denominator, target) {
	return {
		metric,
		evaluate: agg => {
			const reason = unavailable(agg, [numerator[0], denominator[0]]);
			if (reason) {
				return notAvailableRow(metric, target, "ratio", reason);
			}
			const a = agg.jobs.get(numerator[0])?.runs ?? [];
			const b = agg.jobs.get(denominator[0])?.runs ?? [];
			const ratios = [];
			for (let r = 0; r < Math.min(a.length, b.length); r++) {
				if (a[r].ok && b[r].ok) {
					ratios.push(a[r].metrics?.[numerator[1]] / b[r].metrics?.[denominator[1]]);
				}
			}
			const paired = { jobs: agg.jobs, summary: () => summarize(ratios) };
			return evaluateRow({ metric, job: numerator[0], key: "", unit: "ratio", target }, paired);
		}
	};
}

/**
 * The state of the native backend in the built package, as a text row.
 * @param {string[]} jobs The native jobs of the scenario.
 * @returns {object} The row.
 */
export function nativeStatusRow(jobs) {
	return {
		metric: "native backend in dist/esm",
		evaluate: agg => {
			const reason = unavailable(agg, jobs);
			const short = !reason
				? "available"
				: reason.includes("ignores")
					? "not available: config.postgresql ignored"
					: reason.includes("rejects")
						? "not available: config.postgresql rejected"
						: "not available";
			return {
				metric: "native backend in dist/esm",
				unit: "text",
				median: short,
				min: null,
				max: null,
				runs: 0,
				pass: undefined,
				notAvailable: reason
			};
		}
	};
}

/**
 * The per-task CPU rows of a job: client side (the job's process, all threads, plus node
 * processes), the PostgreSQL server, and the whole machine.
 * @param {string} label The row prefix.
 * @param {string} job The job id.
 * @returns {object[]} The rows.
 */
export function cpuRows(label, job) {
	return [
		row(`${label}: client CPU per task`, job, "hostCpuUsPerTask", "us"),
		row(`${label}: server CPU per task`, job, "serverCpuUsPerTask", "us"),
		row(`${label}: machine CPU per task`, job, "machineCpuUsPerTask", "us")
	];
}

/**
 * The PostgreSQL scenarios at a scale.
 * @param {number} scale The scale factor (1 = the sizes of the issue).
 * @returns {object[]} The scenarios (each with needsPostgres).
 */
export function pgScenarios(scale) {
	const concurrency = 8;
	const n = count(50_000, scale, 40);
	const warmup = n >= 5000 ? 500 : 0;
	const createN = count(5000, scale, 20);
	const createWarmup = scale < 0.1 ? 5 : 200;
	const manyN = count(20_000, scale, 40);
	const manyBatch = Math.min(1000, count(1000, scale, 10));
	const manyWarmup = scale < 0.1 ? manyBatch : 2 * manyBatch;
	const samples = count(500, scale, 10);
	const latencyWarmup = scale < 0.1 ? 4 : 20;
	const scalingN = count(6000, scale, 32);
	const nodeCounts = [1, 2, 4, 8];
	const runsCap = 3;

	const backlogJob = (id, backend, mode) => ({
		id,
		kind: "pg-connector-backlog",
		params: { backend, mode, concurrency, n, warmup },
		maxRuns: runsCap
	});
	const createJob = (id, backend) => ({
		id,
		kind: "pg-connector-create",
		params: { backend, mode: "inline", concurrency, n: createN, warmup: createWarmup },
		maxRuns: runsCap
	});

	const createManyJob = (id, backend, processing) => ({
		id,
		kind: "pg-connector-createmany",
		params: {
			backend,
			mode: "inline",
			processing,
			concurrency,
			n: manyN,
			batch: manyBatch,
			warmup: manyWarmup
		},
		maxRuns: runsCap
	});
	const addJobsJob = (id, worker) => ({
		id,
		kind: "pg-graphile-addjobs",
		params: { n: manyN, batch: manyBatch, concurrency, warmup: manyWarmup, worker },
		maxRuns: runsCap
	});

	return [
		{
			name: "pg-backlog",
			needsPostgres: true,
			description: `PostgreSQL, one server, default durability (fsync on, synchronous_commit on): a backlog of ${n} noop tasks processed by one node, concurrency ${concurrency}; native backend (inline and worker mode), entity-storage path over TWIN's PostgreSqlEntityStorageConnector (same), graphile-worker (local queue 500, batched completion, concurrentJobs ${concurrency}, pool ${concurrency + 2}, added with addJobs in batches of 1,000); from start of processing to the last completion committed; retainFor 0 / completed jobs deleted; after a ${warmup}-task warm-up`,
			jobs: [
				{
					id: "pg-graphile-backlog",
					kind: "pg-graphile-backlog",
					params: { n, concurrency, warmup, addJobsBatch: 1000 },
					maxRuns: runsCap
				},
				backlogJob("pg-native-inline", "native", "inline"),
				backlogJob("pg-native-worker", "native", "worker"),
				backlogJob("pg-es-inline", "entity-storage", "inline"),
				backlogJob("pg-es-worker", "entity-storage", "worker")
			],
			rows: [
				nativeStatusRow(["pg-native-inline", "pg-native-worker"]),
				row("graphile-worker: jobs/s", "pg-graphile-backlog", "tasksPerSec", "tasks/s"),
				...cpuRows("graphile-worker", "pg-graphile-backlog"),
				row("native inline: tasks/s", "pg-native-inline", "tasksPerSec", "tasks/s"),
				...cpuRows("native inline", "pg-native-inline"),
				row("native worker: tasks/s", "pg-native-worker", "tasksPerSec", "tasks/s"),
				...cpuRows("native worker", "pg-native-worker"),
				row("entity-storage inline: tasks/s", "pg-es-inline", "tasksPerSec", "tasks/s"),
				...cpuRows("entity-storage inline", "pg-es-inline"),
				row("entity-storage worker: tasks/s", "pg-es-worker", "tasksPerSec", "tasks/s"),
				...cpuRows("entity-storage worker", "pg-es-worker"),
				ratio(
					"native inline / graphile-worker",
					["pg-native-inline", "tasksPerSec"],
					["pg-graphile-backlog", "tasksPerSec"],
					{ op: ">=", value: 1 }
				),
				ratio(
					"native worker / graphile-worker",
					["pg-native-worker", "tasksPerSec"],
					["pg-graphile-backlog", "tasksPerSec"],
					{ op: ">=", value: 0.5 }
				),
				ratio(
					"native inline / entity-storage inline",
					["pg-native-inline", "tasksPerSec"],
					["pg-es-inline", "tasksPerSec"],
					{ op: ">=", value: 8 }
				),
				ratio(
					"native worker / entity-storage worker",
					["pg-native-worker", "tasksPerSec"],
					["pg-es-worker", "tasksPerSec"],
					{ op: ">=", value: 8 }
				),
				ratio(
					"entity-storage inline / graphile-worker (now)",
					["pg-es-inline", "tasksPerSec"],
					["pg-graphile-backlog", "tasksPerSec"]
				),
				row(
					"entity-storage inline: storage calls per task (set)",
					"pg-es-inline",
					"setPerTask",
					"calls"
				),
				row("entity-storage inline: (get)", "pg-es-inline", "getPerTask", "calls"),
				row("entity-storage inline: (remove)", "pg-es-inline", "removePerTask", "calls"),
				row("graphile-worker: start of run() to first job", "pg-graphile-backlog", "startMs", "ms"),
				row(
					"graphile-worker: addJobs bulk (1,000 per call), jobs/s",
					"pg-graphile-backlog",
					"addJobsPerSec",
					"tasks/s"
				)
			]
		},
		{
			name: "pg-create",
			needsPostgres: true,
			description: `PostgreSQL: ${createN} tasks created one by one, each awaited, on a started node processing them (inline mode, concurrency ${concurrency}; graphile-worker: runner.addJob on a running worker with the settings of pg-backlog, and for reference WorkerUtils.addJob with no worker running), after ${createWarmup} discarded; first create to the last one resolved`,
			jobs: [
				{
					id: "pg-graphile-addjob",
					kind: "pg-graphile-addjob",
					params: { n: createN, concurrency, warmup: createWarmup },
					maxRuns: runsCap
				},
				{
					id: "pg-graphile-addjob-idle",
					kind: "pg-graphile-addjob",
					params: { n: createN, concurrency, warmup: createWarmup, worker: false },
					maxRuns: runsCap
				},
				createJob("pg-native-create", "native"),
				createJob("pg-es-create", "entity-storage")
			],
			rows: [
				nativeStatusRow(["pg-native-create"]),
				row("graphile-worker addJob: jobs/s", "pg-graphile-addjob", "addJobPerSec", "tasks/s"),
				...cpuRows("graphile-worker addJob", "pg-graphile-addjob"),
				row("native create: tasks/s", "pg-native-create", "createPerSec", "tasks/s"),
				...cpuRows("native create", "pg-native-create"),
				row("entity-storage create: tasks/s", "pg-es-create", "createPerSec", "tasks/s"),
				...cpuRows("entity-storage create", "pg-es-create"),
				ratio(
					"native create / graphile-worker addJob",
					["pg-native-create", "createPerSec"],
					["pg-graphile-addjob", "addJobPerSec"],
					{ op: ">=", value: 1 }
				),
				ratio(
					"native create / graphile-worker addJob with no worker (the issue's anchor)",
					["pg-native-create", "createPerSec"],
					["pg-graphile-addjob-idle", "addJobPerSec"],
					{ op: ">=", value: 1 }
				),
				ratio(
					"entity-storage create / graphile-worker addJob (now)",
					["pg-es-create", "createPerSec"],
					["pg-graphile-addjob", "addJobPerSec"]
				),
				row(
					"graphile-worker addJob, no worker running: jobs/s",
					"pg-graphile-addjob-idle",
					"addJobPerSec",
					"tasks/s"
				),
				row(
					"graphile-worker addJob, no worker running: server CPU per task",
					"pg-graphile-addjob-idle",
					"serverCpuUsPerTask",
					"us"
				)
			]
		},
		{
			name: "pg-createmany",
			needsPostgres: true,
			description: `PostgreSQL, bulk create (issue 11, item 5): ${manyN} tasks in calls of ${manyBatch} payloads, each call awaited before the next, after ${manyWarmup} discarded, retainFor 0; first call to the last one resolved. Native createMany and graphile-worker 0.18's WorkerUtils.addJobs (Runner has none) each twice: on a started node processing the tasks as they come (inline, concurrency ${concurrency}; graphile with the pg-backlog settings) and with no handler registered / no worker running (the insert alone; our tasks are run afterwards, graphile's jobs counted in its table). The entity-storage path's createMany over TWIN's PostgreSqlEntityStorageConnector and over its in-memory connector with no handler registered. The native create awaited one by one is pg-create's job (${createN} tasks, processing). "transactions per call": the transactions that stored the measured rows (their distinct xmin, read before anything updated them) per call; "WAL bytes per task": the server's WAL bytes over the window per task`,
			jobs: [
				createJob("pg-native-create", "native"),
				createManyJob("pg-native-createmany", "native", true),
				createManyJob("pg-native-createmany-idle", "native", false),
				addJobsJob("pg-graphile-addjobs", true),
				addJobsJob("pg-graphile-addjobs-idle", false),
				createManyJob("pg-es-createmany-idle", "entity-storage", false),
				createManyJob("memory-createmany-idle", "memory", false)
			],
			rows: [
				nativeStatusRow(["pg-native-create", "pg-native-createmany", "pg-native-createmany-idle"]),
				row(
					"native create one by one, processing (pg-create): tasks/s",
					"pg-native-create",
					"createPerSec",
					"tasks/s"
				),
				...cpuRows("native create one by one", "pg-native-create"),
				row(
					"native createMany, processing: tasks/s",
					"pg-native-createmany",
					"createManyPerSec",
					"tasks/s"
				),
				...cpuRows("native createMany, processing", "pg-native-createmany"),
				row(
					"graphile-worker addJobs, worker running: jobs/s",
					"pg-graphile-addjobs",
					"addJobsPerSec",
					"tasks/s"
				),
				...cpuRows("graphile-worker addJobs, worker running", "pg-graphile-addjobs"),
				row(
					"native createMany, processing: created and run, tasks/s",
					"pg-native-createmany",
					"createdAndRunPerSec",
					"tasks/s"
				),
				row(
					"graphile-worker addJobs, worker running: added and run, jobs/s",
					"pg-graphile-addjobs",
					"createdAndRunPerSec",
					"tasks/s"
				),
				row(
					"native createMany, no handler: tasks/s",
					"pg-native-createmany-idle",
					"createManyPerSec",
					"tasks/s"
				),
				...cpuRows("native createMany, no handler", "pg-native-createmany-idle"),
				row(
					"native createMany, no handler: transactions per call",
					"pg-native-createmany-idle",
					"transactionsPerCall",
					"calls",
					{ op: "<=", value: 1, label: "<= 1 (one INSERT)" }
				),
				row(
					"native createMany, no handler: WAL bytes per task",
					"pg-native-createmany-idle",
					"walBytesPerTask",
					"bytes"
				),
				row(
					"graphile-worker addJobs, no worker: jobs/s",
					"pg-graphile-addjobs-idle",
					"addJobsPerSec",
					"tasks/s"
				),
				...cpuRows("graphile-worker addJobs, no worker", "pg-graphile-addjobs-idle"),
				row(
					"graphile-worker addJobs, no worker: transactions per call",
					"pg-graphile-addjobs-idle",
					"transactionsPerCall",
					"calls"
				),
				row(
					"graphile-worker addJobs, no worker: WAL bytes per task",
					"pg-graphile-addjobs-idle",
					"walBytesPerTask",
					"bytes"
				),
				row(
					"entity-storage (PostgreSQL) createMany, no handler: tasks/s",
					"pg-es-createmany-idle",
					"createManyPerSec",
					"tasks/s"
				),
				...cpuRows("entity-storage (PostgreSQL) createMany, no handler", "pg-es-createmany-idle"),
				row(
					"entity-storage (PostgreSQL) createMany: transactions per call",
					"pg-es-createmany-idle",
					"transactionsPerCall",
					"calls"
				),
				row(
					"entity-storage (memory) createMany, no handler: tasks/s",
					"memory-createmany-idle",
					"createManyPerSec",
					"tasks/s"
				),
				row(
					"entity-storage (memory) createMany: client CPU per task",
					"memory-createmany-idle",
					"hostCpuUsPerTask",
					"us"
				),
				ratio(
					"native createMany / native create one by one (both processing)",
					["pg-native-createmany", "createManyPerSec"],
					["pg-native-create", "createPerSec"]
				),
				// The target: the insert alone against the insert alone. Both are one statement per call
				// with the batch as one JSON parameter, so parity is the bar; processing adds the claim
				// path, which pg-backlog measures and targets on its own.
				ratio(
					"native createMany / graphile-worker addJobs (insert alone)",
					["pg-native-createmany-idle", "createManyPerSec"],
					["pg-graphile-addjobs-idle", "addJobsPerSec"],
					{ op: ">=", value: 1 }
				),
				ratio(
					"native createMany / graphile-worker addJobs (both processing)",
					["pg-native-createmany", "createManyPerSec"],
					["pg-graphile-addjobs", "addJobsPerSec"]
				),
				ratio(
					"native createMany / entity-storage (PostgreSQL) createMany",
					["pg-native-createmany-idle", "createManyPerSec"],
					["pg-es-createmany-idle", "createManyPerSec"]
				)
			]
		},
		{
			name: "pg-latency",
			needsPostgres: true,
			description: `PostgreSQL, two node processes: node A creates one task at a time (${samples} samples after ${latencyWarmup} discarded, 5 ms gap), node B (started, idle, another process, inline mode, concurrency ${concurrency}) runs it; create on A -> handler start on B. graphile-worker for reference (addJob on A, runner with the pg-backlog settings on B)`,
			jobs: [
				{
					id: "pg-latency-native",
					kind: "pg-latency",
					params: { peer: "native", samples, warmup: latencyWarmup, gapMs: 5, concurrency },
					maxRuns: runsCap
				},
				{
					id: "pg-latency-graphile",
					kind: "pg-latency",
					params: { peer: "graphile", samples, warmup: latencyWarmup, gapMs: 5, concurrency },
					maxRuns: runsCap
				}
			],
			rows: [
				nativeStatusRow(["pg-latency-native"]),
				row("native: p50 create on A -> start on B", "pg-latency-native", "p50Ms", "ms", {
					op: "<=",
					value: 10
				}),
				row("native: p99 create on A -> start on B", "pg-latency-native", "p99Ms", "ms"),
				row("native: p50 create() on A resolved", "pg-latency-native", "createP50Ms", "ms"),
				row("graphile-worker: p50 addJob on A -> start on B", "pg-latency-graphile", "p50Ms", "ms"),
				row("graphile-worker: p99 addJob on A -> start on B", "pg-latency-graphile", "p99Ms", "ms"),
				row("graphile-worker: p50 addJob() resolved", "pg-latency-graphile", "createP50Ms", "ms")
			]
		},
		{
			name: "pg-scaling",
			needsPostgres: true,
			description: `PostgreSQL: a backlog of ${scalingN} tasks whose handler sleeps 20 ms, processed by ${nodeCounts.join(", ")} node processes on one table, concurrency ${concurrency} each (inline mode); "go" to the last completion; every task must run exactly once across the nodes. graphile-worker for reference (one schema, pg-backlog settings except a local queue of ${concurrency + 1}, its documented starting point, since 500 lets the first node lock the whole backlog; its nodes start their runner on "go", so its start-up is in the window)`,
			jobs: ["native", "graphile"].flatMap(peer =>
				nodeCounts.map(nodes => ({
					id: `pg-scaling-${peer}-${nodes}`,
					kind: "pg-scaling",
					params: { peer, nodes, n: scalingN, ms: 20, concurrency },
					maxRuns: runsCap
				}))
			),
			rows: [
				nativeStatusRow(nodeCounts.map(k => `pg-scaling-native-${k}`)),
				...nodeCounts.map(k =>
					row(`native, ${k} node(s): tasks/s`, `pg-scaling-native-${k}`, "tasksPerSec", "tasks/s")
				),
				ratio(
					"native 2 nodes / 1 node",
					["pg-scaling-native-2", "tasksPerSec"],
					["pg-scaling-native-1", "tasksPerSec"],
					{ op: ">=", value: 1.8 }
				),
				ratio(
					"native 4 nodes / 1 node",
					["pg-scaling-native-4", "tasksPerSec"],
					["pg-scaling-native-1", "tasksPerSec"],
					{ op: ">=", value: 3.5 }
				),
				ratio(
					"native 8 nodes / 1 node",
					["pg-scaling-native-8", "tasksPerSec"],
					["pg-scaling-native-1", "tasksPerSec"]
				),
				row(
					"native, 8 nodes: client + server CPU per task",
					"pg-scaling-native-8",
					"clientServerCpuUsPerTask",
					"us"
				),
				...nodeCounts.map(k =>
					row(
						`graphile-worker, ${k} node(s): jobs/s`,
						`pg-scaling-graphile-${k}`,
						"tasksPerSec",
						"tasks/s"
					)
				),
				ratio(
					"graphile-worker 2 nodes / 1 node",
					["pg-scaling-graphile-2", "tasksPerSec"],
					["pg-scaling-graphile-1", "tasksPerSec"]
				),
				ratio(
					"graphile-worker 4 nodes / 1 node",
					["pg-scaling-graphile-4", "tasksPerSec"],
					["pg-scaling-graphile-1", "tasksPerSec"]
				),
				ratio(
					"graphile-worker 8 nodes / 1 node",
					["pg-scaling-graphile-8", "tasksPerSec"],
					["pg-scaling-graphile-1", "tasksPerSec"]
				)
			]
		}
	];
}
