// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The store scenarios of the catalogue (issue 19, item 5): throughput on each of TWIN's stores
// (memory, file, DynamoDB on dynalite, MySQL on MariaDB, PostgreSQL), ours (default config, i.e.
// worker mode, and inline) side by side with the ORIGINAL package in the same run (its defaults),
// with the storage calls per task of each. One job per implementation and store, each run a fresh
// child process (jobs/stores.mjs); medians over the run's repetitions, ratios of the medians.
// The servers are started by run.mjs for the scenarios that name them (needsPostgres,
// needsServers: storeServers.mjs).
import { count, evaluateRow, round } from "./stats.mjs";

/**
 * The stores: label, tasks for ours and for the original at scale 1, and the servers they need.
 * Ours is measured on more tasks where the store allows it; the original runs one task at a time
 * with a 100 ms pause and a new thread per task (about 8 tasks/s), so its count keeps a run well
 * under a minute.
 */
const STORES = [
	{ store: "memory", label: "TWIN's in-memory connector", ours: 1000, original: 100 },
	{
		store: "file",
		label: "TWIN's file connector (one store.json in a fresh directory)",
		ours: 300,
		original: 100
	},
	{
		store: "dynamodb",
		label: "TWIN's DynamoDB connector on dynalite (in memory, another process)",
		ours: 500,
		// Fewer than 40: the original's start() never returns on DynamoDB once the table holds 40
		// tasks or more. Its sweep of retained tasks loops while a page comes back with a cursor
		// but never passes the cursor on, and DynamoDB answers a query whose filter matched nothing
		// with an empty page and a cursor whenever the page limit (40 items read) was reached.
		original: 30,
		servers: ["dynalite"]
	},
	{
		store: "mysql",
		label:
			"TWIN's MySQL connector on MariaDB (InnoDB defaults: flush at every commit), table from docs/background-task.mysql.sql",
		ours: 1000,
		original: 100,
		servers: ["mariadb"]
	},
	{
		store: "postgres",
		label:
			"TWIN's PostgreSQL connector (PostgreSQL defaults: fsync, synchronous_commit), table from docs/background-task.postgresql.sql",
		ours: 1000,
		original: 100,
		postgres: true
	}
];

/**
 * The three jobs of a store: ours in worker mode (default config), ours inline, the original.
 */
const IMPLS = [
	{ key: "ours-worker", label: "ours worker (default config)", impl: "ours", config: {} },
	{
		key: "ours-inline",
		label: "ours inline",
		impl: "ours",
		config: { executionMode: "inline" }
	},
	{ key: "original", label: "original (its defaults)", impl: "original" }
];

/**
 * Why a job could not process its tasks (the original on a store whose connector rejects its
 * queries), if so.
 * @param {import("./stats.mjs").Aggregates} agg The aggregates.
 * @param {string[]} jobs The job ids.
 * @returns {string | undefined} The reason, undefined when every job processed (or failed).
 */
function failure(agg, jobs) {
	for (const job of jobs) {
		const run = (agg.jobs.get(job)?.runs ?? []).find(r => r.ok && r.metrics?.works === 0);
		if (run) {
			return run.info?.fails ?? "fails";
		}
	}
	return undefined;
}

/**
 * A row that says "fails: <reason>" (no value, no verdict) when one of its jobs could not
 * process its tasks, and is evaluated as usual otherwise.
 * @param {string} metric The metric.
 * @param {string[]} jobs The jobs it depends on.
 * @param {(agg: import("./stats.mjs").Aggregates) => object} evaluate The evaluation otherwise.
 * @param {boolean} [withReason] Whether the text gives the reason (once per scenario is enough).
 * @returns {object} The row.
 */
function guarded(metric, jobs, evaluate, withReason = false) {
	return {
		metric,
		evaluate: agg => {
			const reason = failure(agg, jobs);
			return reason
				? {
						metric,
						unit: "text",
						median: withReason ? `fails: ${reason}` : "n/a (fails)",
						min: null,
						max: null,
						runs: 0,
						pass: undefined,
						fails: reason
					}
				: evaluate(agg);
		}
	};
}

/**
 * A row of one job's metric.
 * @param {string} metric The metric.
 * @param {string} job The job id.
 * @param {string} key The metric key.
 * @param {string} unit The unit.
 * @returns {object} The row.
 */
function metricRow(metric, job, key, unit) {
	return guarded(
		metric,
		[job],
		agg => evaluateRow({ metric, job, key, unit }, agg),
		key === "tasksPerSec"
	);
}

/**
 * A row giving the storage calls per task by kind, as text.
 * @param {string} metric The metric.
 * @param {string} job The job id.
 * @returns {object} The row.
 */
function breakdownRow(metric, job) {
	return guarded(metric, [job], agg => {
		const part = key => {
			const value = round(agg.median(job, key));
			return value === null ? "n/a" : String(value);
		};
		return {
			metric,
			unit: "text",
			median: `set ${part("setPerTask")}, get ${part("getPerTask")}, remove ${part("removePerTask")}, query ${part("queryPerTask")}`,
			min: null,
			max: null,
			runs: agg.summary(job, "callsPerTask").n,
			pass: undefined
		};
	});
}

/**
 * The ratio of two jobs' medians.
 * @param {string} metric The metric.
 * @param {string} numerator The job id of the numerator.
 * @param {string} denominator The job id of the denominator.
 * @param {string} key The metric key.
 * @param {object} [target] The target.
 * @returns {object} The row.
 */
function ratioRow(metric, numerator, denominator, key, target) {
	return guarded(metric, [numerator, denominator], agg =>
		evaluateRow(
			{
				metric,
				derive: a => a.median(numerator, key) / a.median(denominator, key),
				unit: "ratio",
				target
			},
			agg
		)
	);
}

/**
 * The store scenarios at a scale.
 * @param {number} scale The scale factor (1 = the sizes above).
 * @returns {object[]} The scenarios.
 */
export function storeScenarios(scale) {
	return STORES.map(s => {
		const name = `store-${s.store}`;
		const id = impl => `${name}-${impl.key}`;
		const nOurs = count(s.ours, scale, 10);
		const nOriginal = count(s.original, scale, 5);
		const [worker, inline, original] = IMPLS;
		return {
			name,
			needsPostgres: s.postgres === true,
			needsServers: s.servers ?? [],
			description: `${s.label}: a cold connector in a fresh process, the trivial handler, tasks created one by one with create() (retainFor 0) before start(); tasks/s from start() to the last completion; storage calls (set/get/remove/query) per task from the first create to the last completion. Ours on ${nOurs} tasks, default config (worker mode) and inline; the original (@twin.org/background-task-connector-entity-storage@0.0.2-next.3, its defaults) on ${nOriginal}`,
			jobs: IMPLS.map(impl => ({
				id: id(impl),
				kind: "store-throughput",
				params: {
					store: s.store,
					impl: impl.impl,
					config: impl.config,
					n: impl.impl === "original" ? nOriginal : nOurs
				},
				// A process of its own even in a batched smoke run: each package registers its own
				// BackgroundTask schema.
				exitCheck: true
			})),
			rows: [
				...IMPLS.map(impl =>
					metricRow(`${impl.label}: tasks/s`, id(impl), "tasksPerSec", "tasks/s")
				),
				ratioRow("ours worker / original", id(worker), id(original), "tasksPerSec", {
					op: ">=",
					value: 1
				}),
				ratioRow("ours inline / original", id(inline), id(original), "tasksPerSec", {
					op: ">=",
					value: 1
				}),
				...IMPLS.map(impl =>
					metricRow(`${impl.label}: storage calls per task`, id(impl), "callsPerTask", "calls")
				),
				...IMPLS.map(impl => breakdownRow(`${impl.label}: calls by kind`, id(impl))),
				// Measured even where the original then fails to process.
				...[worker, original].map(impl => ({
					metric: `${impl.label}: create() one by one, tasks/s`,
					job: id(impl),
					key: "createPerSec",
					unit: "tasks/s"
				})),
				{
					metric: `${original.label}: storage calls per create()`,
					job: id(original),
					key: "createCallsPerTask",
					unit: "calls"
				}
			]
		};
	});
}
