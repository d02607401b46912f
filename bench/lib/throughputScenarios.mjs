// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The throughput scenarios of the catalogue (see scenarios.mjs): throughput-1type, -default,
// -8types, inline, and the ceiling over an O(1) storage.
import { count } from "./stats.mjs";

/**
 * The throughput job.
 * @param {string} id The job id.
 * @param {number} n Tasks.
 * @param {number} types Types.
 * @param {object | undefined} config The connector config.
 * @param {"memory" | "map"} [storage] The storage: the real in-memory connector, or for the ceiling
 *   scenario an O(1) Map.
 * @param {number} [warmup] Tasks run (on a separate storage) before the timed pass.
 * @returns {object} The job.
 */
function throughputJob(id, n, types, config, storage = "memory", warmup = n >= 1000 ? 500 : 0) {
	return {
		id,
		kind: "throughput",
		params: {
			n,
			types,
			retainFor: -1,
			warmup,
			micro: n >= 1000,
			config,
			storage
		}
	};
}

/**
 * Rows of a throughput scenario: tasks/s against the bar, then where the time goes: the storage
 * floor (the run's own storage calls replayed on the in-memory connector alone), its share of the
 * wall time, the connector's own time per task, the in-memory connector's cost per stored entity
 * and per lookup, and the storage calls per task.
 * @param {string} job The throughput job id.
 * @param {number} target The tasks/s bar.
 * @returns {object[]} The rows.
 */
function throughputRows(job, target) {
	return [
		{
			metric: "tasks/s",
			job,
			key: "tasksPerSec",
			unit: "tasks/s",
			target: { op: ">=", value: target }
		},
		{
			metric: "storage floor: same storage calls, memory connector alone",
			job,
			key: "floorTasksPerSec",
			unit: "tasks/s"
		},
		{ metric: "share of wall time in the memory connector", job, key: "floorShare", unit: "ratio" },
		{
			metric: "rest (connector + workers + contention) per task",
			job,
			key: "ownUsPerTask",
			unit: "us"
		},
		{
			metric: "memory connector get: cost per stored entity",
			job,
			key: "getNsPerEntity",
			unit: "ns"
		},
		{ metric: "CPU use (all threads; 100% = one core)", job, key: "cpuPercent", unit: "%" },
		{
			metric: "storage calls per task (set+get+remove)",
			derive: agg =>
				agg.median(job, "setPerTask") +
				agg.median(job, "getPerTask") +
				agg.median(job, "removePerTask"),
			unit: "calls"
		}
	];
}

/**
 * The throughput scenarios at a scale.
 * @param {number} scale The scale factor (1 = the sizes of the issue).
 * @returns {object[]} The scenarios.
 */
export function throughputScenarios(scale) {
	const n10k = count(10_000, scale, 20);
	const n16k = count(16_000, scale, 16);
	return [
		{
			name: "throughput-1type",
			description: `${n10k} tasks of one type, trivial handler, worker mode, concurrency 4, created up front, retainFor -1; first create to last completion`,
			jobs: [throughputJob("throughput-1type", n10k, 1, { concurrency: 4 })],
			rows: throughputRows("throughput-1type", 5000)
		},
		{
			name: "throughput-1type-default",
			description: `as throughput-1type with the default concurrency 1 (strict order)`,
			jobs: [throughputJob("throughput-1type-default", n10k, 1, undefined)],
			rows: throughputRows("throughput-1type-default", 2500)
		},
		{
			name: "throughput-8types",
			description: `8 types x ${n16k / 8} tasks (created interleaved), default config, retainFor -1`,
			jobs: [throughputJob("throughput-8types", n16k, 8, undefined)],
			rows: throughputRows("throughput-8types", 5000)
		},
		{
			name: "inline",
			description: `as throughput-1type with executionMode "inline"`,
			jobs: [throughputJob("inline", n10k, 1, { concurrency: 4, executionMode: "inline" })],
			rows: throughputRows("inline", 10_000)
		},
		{
			name: "ceiling",
			description: `not a bar of the issue: throughput-1type (${n10k} tasks, concurrency 4, retainFor -1) over an O(1) Map storage instead of the in-memory connector, to show what the connector itself can do when storage costs next to nothing`,
			// Half as many warm-up tasks as timed ones: after 500, V8 was still compiling the task
			// path during the timed pass (its compiler threads count in the CPU), which doubled the
			// CPU per task this scenario exists to show. The 500-task warm-up stays beside it
			// (ceiling-inline-early): a node's first seconds cost that much.
			jobs: [
				throughputJob(
					"ceiling-inline-early",
					n10k,
					1,
					{ concurrency: 4, executionMode: "inline" },
					"map"
				),
				throughputJob("ceiling-worker", n10k, 1, { concurrency: 4 }, "map", Math.ceil(n10k / 2)),
				throughputJob(
					"ceiling-inline",
					n10k,
					1,
					{ concurrency: 4, executionMode: "inline" },
					"map",
					Math.ceil(n10k / 2)
				)
			],
			rows: [
				{
					metric: "worker mode: tasks/s",
					job: "ceiling-worker",
					key: "tasksPerSec",
					unit: "tasks/s"
				},
				{ metric: "worker mode: CPU use", job: "ceiling-worker", key: "cpuPercent", unit: "%" },
				{
					metric: "inline: tasks/s",
					job: "ceiling-inline",
					key: "tasksPerSec",
					unit: "tasks/s",
					target: { op: ">=", value: 25_000 }
				},
				{
					metric: "inline: tasks per CPU-second",
					job: "ceiling-inline",
					key: "tasksPerCpuSec",
					unit: "tasks/s"
				},
				{
					metric: "inline: CPU per task (all threads)",
					job: "ceiling-inline",
					key: "cpuUsPerTask",
					unit: "us"
				},
				{
					metric: "inline: of which storage (Map + counting wrapper, calls replayed)",
					job: "ceiling-inline",
					key: "storageUsPerTask",
					unit: "us"
				},
				{
					metric: "inline: our CPU per task besides storage",
					job: "ceiling-inline",
					key: "ownCpuUsPerTask",
					unit: "us",
					target: { op: "<=", value: 40 }
				},
				{
					metric: "inline, after a 500-task warm-up: tasks/s",
					job: "ceiling-inline-early",
					key: "tasksPerSec",
					unit: "tasks/s"
				},
				{
					metric: "inline, after a 500-task warm-up: our CPU per task besides storage",
					job: "ceiling-inline-early",
					key: "ownCpuUsPerTask",
					unit: "us"
				}
			]
		}
	];
}
