// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The cold-node scenario (issue 21, item 1): what a TWIN node does, where pg-backlog
// (pgScenarios.mjs) is tuned (backlog cloned in SQL, ANALYZE and CHECKPOINT, a warm-up). The jobs:
// jobs/pgColdNode.mjs (ours, native backend) and jobs/pgGraphileCold.mjs (graphile-worker).
import { cpuRows, nativeStatusRow, ratio, row } from "./pgScenarios.mjs";
import { count } from "./stats.mjs";

/**
 * The components (each with an entity schema) of the stand-in engine of the "a node's engine"
 * jobs (jobs/engineStandIn.mjs): clone data of 62 KB as JSON.
 */
const ENGINE_COMPONENTS = 30;

/**
 * retainFor of our jobs, with the tag of their ids and labels.
 */
const RETAINS = [
	{ retainFor: 0, tag: "r0", label: "retainFor 0" },
	{ retainFor: -1, tag: "keep", label: "retainFor -1" },
	{ retainFor: 60_000, tag: "r60s", label: "retainFor 60000" }
];

/**
 * The targets of our rate against graphile-worker's, by execution mode.
 */
const TARGETS = { inline: { op: ">=", value: 1 }, worker: { op: ">=", value: 0.8 } };

/**
 * The cold-node scenarios at a scale.
 * @param {number} scale The scale factor (1 = the sizes of the issue).
 * @returns {object[]} The scenarios (with needsPostgres).
 */
export function pgNodeScenarios(scale) {
	const concurrency = 8;
	const n = count(50_000, scale, 40);
	const lanes = 16;
	const batch = Math.min(1000, count(1000, scale, 10));
	const runsCap = 3;

	const ours = [];
	for (const mode of ["inline", "worker"]) {
		for (const { retainFor, tag, label } of RETAINS) {
			for (const callback of [false, true]) {
				ours.push({
					id: `pg-node-${mode}-${tag}${callback ? "-cb" : ""}`,
					label: `native ${mode}, ${label}${callback ? ", callback" : ""}`,
					mode,
					params: { mode, retainFor, callback, build: "create" },
					peer: "pg-node-graphile-addjob"
				});
			}
		}
	}
	for (const mode of ["inline", "worker"]) {
		ours.push({
			id: `pg-node-${mode}-r0-many`,
			label: `native ${mode}, retainFor 0, createMany-made`,
			mode,
			params: { mode, retainFor: 0, callback: false, build: "createMany" },
			peer: "pg-node-graphile-addjobs"
		});
	}
	// A node's engine (bench/lib/jobs/engineStandIn.mjs): what each job carries in a TWIN node.
	for (const mode of ["inline", "worker"]) {
		ours.push({
			id: `pg-node-${mode}-r0-engine`,
			label: `native ${mode}, retainFor 0, a node's engine`,
			mode,
			params: { mode, retainFor: 0, callback: false, build: "create", engine: ENGINE_COMPONENTS },
			peer: "pg-node-graphile-addjob"
		});
	}
	// The default concurrency, 1: what a node runs when neither its config nor its handler's
	// registration sets one. Beside the workloads at concurrency 8, so no target; its
	// ratio is to graphile-worker at concurrency 8 as well.
	ours.push({
		id: "pg-node-worker-r0-c1",
		label: "native worker, retainFor 0, concurrency 1 (the default)",
		mode: "worker",
		params: { mode: "worker", retainFor: 0, callback: false, build: "create", concurrency: 1 },
		peer: "pg-node-graphile-addjob",
		untargeted: true
	});
	const graphile = [
		{ id: "pg-node-graphile-addjob", label: "graphile-worker, addJob-made", build: "addJob" },
		{ id: "pg-node-graphile-addjobs", label: "graphile-worker, addJobs-made", build: "addJobs" }
	];
	const sizes = { n, lanes, batch, concurrency };

	return [
		{
			name: "pg-node",
			needsPostgres: true,
			// Autovacuum first visits a new database about a minute after the server starts, so in that
			// minute no backlog is analyzed while it is made, and graphile-worker's claims on a table
			// never analyzed cost three times the CPU (docs/performance.md, "The server's first
			// minute"); a server in a deployment has been up for longer.
			serverSettleMs: 60_000,
			description: `PostgreSQL, one server, default durability, left idle for its first minute: a cold TWIN node. Each run is a fresh process and, for ours (native backend), a fresh table never analyzed: a creator connector (same config, never started, no handler) makes a backlog of ${n} tasks ({ i }) through the public API, create() awaited one by one in ${lanes} parallel lanes (each lane awaits its create before its next one) or createMany() in calls of ${batch} ("createMany-made"), with the job's retainFor (0, -1, 60000); its stop() (a no-op, it never started) and its idle connections closed (checked on the server) before the node starts. Then no ANALYZE, CHECKPOINT, VACUUM or warm-up: a new connector with default settings except executionMode (inline; worker, the default) and concurrency ${concurrency} (one worker-mode job at the default concurrency, 1) registers a trivial handler (with or without a state-change callback counting its calls) and is timed from start() until the last task is recorded (no task of the type pending or processing, asked of the claim index; the rows are counted after the window: none left with retainFor 0, every one success when kept). graphile-worker 0.18 the same way: fresh schema, jobs added with WorkerUtils addJob in ${lanes} lanes (or addJobs in calls of ${batch}) before run(), its performance preset (local queue 500, batched completion, concurrentJobs ${concurrency}, pool ${concurrency + 2}, from its connection string), timed from run() until its table has no job left; it deletes completed jobs, so its one rate is compared with every workload of ours (createMany-made against addJobs-made). Client CPU: the whole process, worker threads included`,
			jobs: [
				...graphile.map(g => ({
					id: g.id,
					kind: "pg-node-graphile",
					params: { ...sizes, build: g.build },
					maxRuns: runsCap
				})),
				...ours.map(o => ({
					id: o.id,
					kind: "pg-node-native",
					params: { ...sizes, ...o.params },
					maxRuns: runsCap
				}))
			],
			rows: [
				nativeStatusRow(ours.map(o => o.id)),
				...[...graphile, ...ours].flatMap(j => [
					row(`${j.label}: tasks/s`, j.id, "tasksPerSec", "tasks/s"),
					...cpuRows(j.label, j.id)
				]),
				...ours.map(o =>
					ratio(
						`${o.label} / ${o.peer === "pg-node-graphile-addjobs" ? "graphile-worker addJobs-made" : "graphile-worker"}`,
						[o.id, "tasksPerSec"],
						[o.peer, "tasksPerSec"],
						o.untargeted ? undefined : TARGETS[o.mode]
					)
				),
				row(
					"backlog creation, native create() in 16 lanes: tasks/s",
					"pg-node-inline-r0",
					"createPerSec",
					"tasks/s"
				),
				row(
					"backlog creation, native createMany(): tasks/s",
					"pg-node-inline-r0-many",
					"createPerSec",
					"tasks/s"
				),
				row(
					"backlog creation, graphile-worker addJob in 16 lanes: jobs/s",
					"pg-node-graphile-addjob",
					"createPerSec",
					"tasks/s"
				),
				row(
					"backlog creation, graphile-worker addJobs: jobs/s",
					"pg-node-graphile-addjobs",
					"createPerSec",
					"tasks/s"
				),
				row(
					"graphile-worker: second half of the window, jobs/s (warm)",
					"pg-node-graphile-addjob",
					"secondHalfRunsPerSec",
					"tasks/s"
				),
				row(
					"native inline, retainFor 0: second half of the window, tasks/s (warm)",
					"pg-node-inline-r0",
					"secondHalfRunsPerSec",
					"tasks/s"
				),
				row(
					"native worker, retainFor 0: second half of the window, tasks/s (warm)",
					"pg-node-worker-r0",
					"secondHalfRunsPerSec",
					"tasks/s"
				),
				row("native inline, retainFor 0: start() resolved", "pg-node-inline-r0", "startMs", "ms"),
				row("native worker, retainFor 0: start() resolved", "pg-node-worker-r0", "startMs", "ms"),
				row("graphile-worker: run() resolved", "pg-node-graphile-addjob", "startMs", "ms"),
				row("native inline, retainFor 0: first task ran", "pg-node-inline-r0", "firstRunMs", "ms"),
				row("native worker, retainFor 0: first task ran", "pg-node-worker-r0", "firstRunMs", "ms"),
				row("graphile-worker: first job ran", "pg-node-graphile-addjob", "firstRunMs", "ms"),
				// Whether autovacuum had analyzed the queue's table before the window (1) or not (0):
				// graphile-worker's claim on a table never analyzed costs about three times the CPU.
				row(
					"graphile-worker: jobs table analyzed by autovacuum before the window (1 = yes)",
					"pg-node-graphile-addjob",
					"autoAnalyzedBefore"
				),
				row(
					"native inline, retainFor 0: table analyzed by autovacuum before the window (1 = yes)",
					"pg-node-inline-r0",
					"autoAnalyzedBefore"
				)
			]
		}
	];
}
