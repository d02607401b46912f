// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Kept results beside the queue (issue 21, item 3), on the native PostgreSQL backend: the rate of
// a backlog on a table holding a million retained final tasks against the rate on an otherwise
// empty table, run by run (jobs/pgRetained.mjs).
import { cpuRows, ratio, row } from "./pgScenarios.mjs";
import { count } from "./stats.mjs";

/**
 * The scenario at a scale.
 * @param {number} scale The scale factor (1 = the sizes of the issue).
 * @returns {object[]} The scenarios (needsPostgres).
 */
export function pgRetainedScenarios(scale) {
	const n = count(50_000, scale, 40);
	const retained = count(1_000_000, scale, 100);
	const concurrency = 8;
	const job = (mode, kept) => ({
		id: `pg-retained-${mode}-${kept > 0 ? "full" : "empty"}`,
		kind: "pg-retained",
		params: { mode, concurrency, n, retained: kept, settleHistory: true },
		maxRuns: 3
	});
	const modes = ["inline", "worker"];
	return [
		{
			name: "pg-retained",
			needsPostgres: true,
			description: `PostgreSQL, native backend, default settings: a backlog of ${n} tasks (createMany, retainFor 0) processed by a cold node (concurrency ${concurrency}, timed from start() to the last task gone), on a table that also holds ${retained} final tasks kept for ever (inserted in one statement: status success, a result, no due date; then VACUUM ANALYZE and CHECKPOINT, as autovacuum and the checkpoints have long done for a node's history) and on an otherwise empty table (the same steps); after the backlog is made, no ANALYZE, CHECKPOINT or warm-up (autovacuum does what it does)`,
			jobs: modes.flatMap(mode => [job(mode, 0), job(mode, retained)]),
			rows: modes.flatMap(mode => [
				row(`${mode}, empty table: tasks/s`, `pg-retained-${mode}-empty`, "tasksPerSec", "tasks/s"),
				...cpuRows(`${mode}, empty table`, `pg-retained-${mode}-empty`),
				row(
					`${mode}, ${retained} retained: tasks/s`,
					`pg-retained-${mode}-full`,
					"tasksPerSec",
					"tasks/s"
				),
				...cpuRows(`${mode}, ${retained} retained`, `pg-retained-${mode}-full`),
				ratio(
					`${mode}: retained / empty`,
					[`pg-retained-${mode}-full`, "tasksPerSec"],
					[`pg-retained-${mode}-empty`, "tasksPerSec"],
					{ op: ">=", value: 0.9 }
				)
			])
		}
	];
}
