// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The scenario catalogue (issue 4, the soak of issue 6, the PostgreSQL scenarios of issue 10 in
// pgScenarios.mjs, the cold node and kept results of issue 21 in pgNodeScenarios.mjs and
// pgRetainedScenarios.mjs, and throughput on each store of issue 19 in storeScenarios.mjs): each
// scenario is a list of jobs, each job runs in a fresh child process per run (see child.mjs), and
// a list of table rows, each a metric of one job compared with its target. Jobs with the same id
// are shared by scenarios and run once.
import { pgNodeScenarios } from "./pgNodeScenarios.mjs";
import { pgRetainedScenarios } from "./pgRetainedScenarios.mjs";
import { pgScenarios } from "./pgScenarios.mjs";
import { count } from "./stats.mjs";
import { storeScenarios } from "./storeScenarios.mjs";
import { throughputScenarios } from "./throughputScenarios.mjs";

/**
 * The original implementation, as given in issue 4 (same machine type, same in-memory connector).
 */
export const REFERENCE = {
	source:
		"issue 4: the original EntityStorageBackgroundTaskConnector on this machine type, same in-memory connector",
	tasksPerSecWithTaskInterval1: 46,
	tasksPerSecWithDefaults: 8
};

/**
 * Every scenario at a scale.
 * @param {number} scale The scale factor (1 = the sizes of the issue).
 * @returns {object[]} The scenarios.
 */
export function scenarios(scale) {
	const backlogs = [1000, 10_000, 50_000].map(b => ({
		label: `${b / 1000}k`,
		backlog: count(b, scale, 20),
		base: b
	}));
	const stopQueued = count(1000, scale, 8);
	// A shorter bound at smoke-test sizes only, so the smoke run stays quick.
	const shutdownTimeout = scale < 0.05 ? 250 : 1000;
	// The hanging handlers ignore their abort signal: stop() gives them abortGrace (its default,
	// 1000 ms, or less at smoke sizes) after shutdownTimeout before terminating the workers.
	const abortGrace = scale < 0.05 ? 250 : 1000;
	const hangSlack = 250;
	const soakN = count(200_000, scale, 200);

	return [
		...throughputScenarios(scale),
		{
			name: "latency-idle",
			description: `create -> handler start, one task at a time on an idle connector (2 ms idle gap), ${count(1000, scale, 10)} samples after ${scale < 0.1 ? 4 : 20} discarded warm-up samples, default config`,
			jobs: [
				{
					id: "latency-idle",
					kind: "latency",
					params: { samples: count(1000, scale, 10), warmup: scale < 0.1 ? 4 : 20, gapMs: 2 }
				}
			],
			rows: [
				{
					metric: "p50 create -> handler start",
					job: "latency-idle",
					key: "p50Ms",
					unit: "ms",
					target: { op: "<=", value: 2 }
				},
				{
					metric: "p99 create -> handler start",
					job: "latency-idle",
					key: "p99Ms",
					unit: "ms",
					target: { op: "<=", value: 10 }
				},
				{
					metric: "p50 create -> claim written",
					job: "latency-idle",
					key: "claimP50Ms",
					unit: "ms"
				},
				{ metric: "max create -> handler start", job: "latency-idle", key: "maxMs", unit: "ms" }
			]
		},
		{
			name: "scaling",
			description: `pending backlog of ${backlogs.map(b => b.backlog).join(" / ")} tasks in storage before start(), default config, retainFor 0; storage calls per task (create included) through a counting wrapper, wall time from registering the handler on the started connector to the last completion`,
			jobs: backlogs.map(b => ({
				id: `scaling-${b.label}`,
				kind: "scaling",
				params: { backlog: b.backlog },
				maxRuns: b.base >= 50_000 ? 3 : undefined
			})),
			rows: [
				...backlogs.flatMap(b => [
					{
						metric: `${b.label}: writes/task (set+remove)`,
						job: `scaling-${b.label}`,
						key: "writesPerTask",
						unit: "calls",
						target: { op: "<=", value: 3 }
					},
					{
						metric: `${b.label}: reads/task (get)`,
						job: `scaling-${b.label}`,
						key: "readsPerTask",
						unit: "calls",
						target: { op: "<=", value: 1 }
					},
					{
						metric: `${b.label}: queries/task`,
						job: `scaling-${b.label}`,
						key: "queryPerTask",
						unit: "calls",
						target: { op: "<=", value: 1 / 16 }
					},
					{
						metric: `${b.label}: wall time/task`,
						job: `scaling-${b.label}`,
						key: "wallUsPerTask",
						unit: "us"
					}
				]),
				{
					metric: "calls/task spread across sizes (max-min)",
					derive: agg => {
						const totals = backlogs.map(
							b =>
								agg.median(`scaling-${b.label}`, "writesPerTask") +
								agg.median(`scaling-${b.label}`, "readsPerTask")
						);
						return Math.max(...totals) - Math.min(...totals);
					},
					unit: "calls",
					target: { op: "<=", value: 0.05, label: "same at every size (<= 0.05)" }
				}
			]
		},
		{
			name: "memory",
			description: `peak RSS growth over the idle started process while ${count(50_000, scale, 20)} tasks (retainFor 0) are created up front and processed, default config; includes the in-memory store holding them`,
			jobs: [
				{
					id: "memory",
					kind: "memory",
					params: { n: count(50_000, scale, 20) },
					nodeArgs: ["--expose-gc"],
					maxRuns: 3
				}
			],
			rows: [
				{
					metric: "peak RSS growth",
					job: "memory",
					key: "peakGrowthMb",
					unit: "MB",
					target: { op: "<=", value: 150 }
				},
				{ metric: "idle RSS", job: "memory", key: "idleRssMb", unit: "MB" },
				{
					metric: "tasks/s (incl. creating them)",
					job: "memory",
					key: "tasksPerSec",
					unit: "tasks/s"
				}
			]
		},
		{
			name: "stop",
			description: `stop() with ${stopQueued} queued and 4 running (concurrency 4, maxWorkers 4); "hang": handlers sleep 60 s ignoring their abort signal, shutdownTimeout ${shutdownTimeout} ms, abortGrace ${abortGrace} ms; "drain": handlers sleep 300 ms, shutdownTimeout 10000 ms; each in a child process that must then exit on its own`,
			jobs: [
				{
					id: "stop-hang",
					kind: "stop",
					params: {
						queued: stopQueued,
						running: 4,
						handlerMs: 60_000,
						shutdownTimeout,
						abortGrace
					},
					exitCheck: true
				},
				{
					id: "stop-drain",
					kind: "stop",
					params: { queued: stopQueued, running: 4, handlerMs: 300, shutdownTimeout: 10_000 },
					exitCheck: true
				}
			],
			rows: [
				{
					metric: "hang: stop() duration",
					job: "stop-hang",
					key: "stopMs",
					unit: "ms",
					target: {
						op: "<=",
						value: shutdownTimeout + abortGrace + hangSlack,
						label: `<= ${shutdownTimeout} + ${abortGrace} + ${hangSlack} ms to terminate workers`
					}
				},
				{
					metric: "hang: resources left when stop() resolves",
					job: "stop-hang",
					key: "leftoverResources",
					unit: "count",
					target: { op: "<=", value: 0, label: "none (no timer, worker, port)" }
				},
				{
					metric: "hang: time until no resource is left",
					job: "stop-hang",
					key: "resourcesClearedMs",
					unit: "ms"
				},
				{
					metric: "hang: process exit after stop()",
					job: "stop-hang",
					key: "exitMs",
					unit: "ms",
					target: { op: "exits", label: "exits on its own" }
				},
				{
					metric: "drain: stop() duration",
					job: "stop-drain",
					key: "stopMs",
					unit: "ms",
					target: { op: "<=", value: 10_000, label: "<= 10000 ms (running 300 ms tasks finish)" }
				},
				{
					metric: "drain: resources left when stop() resolves",
					job: "stop-drain",
					key: "leftoverResources",
					unit: "count",
					target: { op: "<=", value: 0, label: "none (no timer, worker, port)" }
				},
				{
					metric: "drain: process exit after stop()",
					job: "stop-drain",
					key: "exitMs",
					unit: "ms",
					target: { op: "exits", label: "exits on its own" }
				}
			]
		},
		{
			name: "soak",
			description: `${soakN} tasks, every 20th failing on its first attempt (retryCount 1, retryInterval 100 ms), retainFor 0, concurrency 4, fed through a window of ${Math.min(2000, Math.max(20, Math.round(soakN / 10)))} outstanding tasks; RSS start/end measured on the started, idle connector after GC`,
			jobs: [
				{
					id: "soak",
					kind: "soak",
					params: {
						n: soakN,
						failRate: 0.05,
						window: Math.min(2000, Math.max(20, Math.round(soakN / 10))),
						retryInterval: 100,
						config: { concurrency: 4 },
						progress: scale >= 0.5
					},
					nodeArgs: ["--expose-gc"],
					maxRuns: 1,
					exitCheck: true
				}
			],
			rows: [
				{ metric: "tasks/s", job: "soak", key: "tasksPerSec", unit: "tasks/s" },
				{ metric: "peak RSS", job: "soak", key: "peakRssMb", unit: "MB" },
				{
					metric: "RSS start (started, idle, after GC)",
					job: "soak",
					key: "startRssMb",
					unit: "MB"
				},
				{
					metric: "RSS end (all done, after GC, before stop)",
					job: "soak",
					key: "endRssMb",
					unit: "MB"
				},
				{
					metric: "RSS end / start",
					job: "soak",
					key: "endToStartRatio",
					unit: "ratio",
					target: { op: "<=", value: 1.2 }
				},
				{
					metric: "RSS end / at 10% done (growth once warm)",
					job: "soak",
					key: "endToWarmRatio",
					unit: "ratio"
				},
				{
					metric: "JS heap used start -> end (after GC)",
					derive: agg => agg.median("soak", "endHeapMb") - agg.median("soak", "startHeapMb"),
					unit: "MB"
				},
				{ metric: "RSS after stop()", job: "soak", key: "afterStopRssMb", unit: "MB" },
				{
					metric: "resources left after stop()",
					job: "soak",
					key: "leftoverResources",
					unit: "count",
					target: { op: "<=", value: 0, label: "none (no timer, worker, port)" }
				},
				{
					metric: "process exit after stop()",
					job: "soak",
					key: "exitMs",
					unit: "ms",
					target: { op: "exits", label: "exits on its own" }
				}
			]
		},
		...pgScenarios(scale),
		...pgNodeScenarios(scale),
		...pgRetainedScenarios(scale),
		...storeScenarios(scale)
	];
}
