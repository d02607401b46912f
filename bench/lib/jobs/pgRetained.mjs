// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Kept results beside the queue (issue 21, item 3): the native backend processes a backlog made
// through createMany (default settings, no ANALYZE, CHECKPOINT or warm-up, a cold connector) on a
// table that holds `retained` final tasks kept for ever besides it, or on an otherwise empty table.
// The retained rows are what a year of `retainFor: -1` leaves: status success, no due date, a
// result, inserted in one statement (making a million through the API would take minutes).
// Timed from start() of the node's connector to the last task of the backlog gone (coldWindow: once
// every handler ran, the claim index is asked whether a task of the backlog is still active; the
// whole table is counted only after the window).
import { NODE } from "./common.mjs";
import { benchPostgres, coldWindow, noActiveTask, perTaskCounters, tally } from "./pgCommon.mjs";
import { HANDLERS, constructNative, nativeBackend, nativeConfig } from "./pgNative.mjs";

/**
 * The backlog's type.
 */
const TYPE = "bench-retained";

/**
 * Insert final tasks kept for ever, as settles leave them, in one statement.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {number} count How many.
 * @returns {Promise<void>} Resolves when inserted.
 */
async function insertRetained(sql, table, count) {
	if (count <= 0) {
		return;
	}
	const now = new Date().toISOString();
	await sql.unsafe(
		`INSERT INTO "${table}" ("id", "type", "threadId", "dateCreated", "dateModified",
			"dateCompleted", "retainUntil", "status", "payload", "result", "attempts")
		SELECT md5(i::text), $1, 'main', $2, $2, $2, -1, 'success',
			jsonb_build_object('i', i), jsonb_build_object('ok', i), 1
		FROM generate_series(1, $3::int) AS i`,
		[TYPE, now, count]
	);
}

/**
 * The job: a backlog of n tasks beside `retained` kept ones.
 * @param {{ mode: "inline" | "worker", concurrency: number, n: number, retained: number, retainFor?: number, settleHistory?: boolean }} params
 *   The parameters (retainFor: the backlog's, default 0; settleHistory: vacuum, analyze and
 *   checkpoint the retained rows before the backlog is made).
 * @returns {Promise<object>} The result.
 */
export async function retainedBacklog(params) {
	const counts = perTaskCounters(params.n);
	const config = { executionMode: params.mode, concurrency: params.concurrency };
	// The creator makes the table (start()) and the backlog, then stops: the node is cold.
	const creator = await nativeBackend.open(config);
	if (creator.notAvailable) {
		return { metrics: { available: 0 }, checks: {}, info: { notAvailable: creator.notAvailable } };
	}
	const { sql, table } = creator;
	try {
		await creator.connector.start(NODE);
		await insertRetained(sql, table, params.retained);
		if (params.settleHistory) {
			// The retained rows are history: on a node they were written over months, and autovacuum
			// and the checkpoints have long processed them. The backlog is made after this.
			await sql.unsafe(`VACUUM ANALYZE "${table}"`);
			await sql.unsafe("CHECKPOINT");
		}
		for (let i = 0; i < params.n; i += 1000) {
			const payloads = Array.from({ length: Math.min(1000, params.n - i) }, (_, k) => ({
				i: i + k
			}));
			await creator.connector.createMany(TYPE, payloads, { retainFor: params.retainFor ?? 0 });
		}
		await creator.connector.stop(NODE);

		const { connector } = constructNative(config, nativeConfig(benchPostgres(), table));
		await connector.registerHandler(TYPE, HANDLERS, "count");
		const metrics = await coldWindow({
			n: params.n,
			counts,
			postmasterPid: benchPostgres().postmasterPid,
			start: async () => connector.start(NODE),
			recorded: async () => noActiveTask(sql, table, TYPE),
			what: "the backlog's last outcomes to be recorded"
		});
		await connector.stop(NODE);
		const [left] = await sql.unsafe(
			`SELECT count(*)::int AS c, count(*) FILTER (WHERE "status" <> 'success')::int AS "notSuccess" FROM "${table}" WHERE "type" = $1`,
			[TYPE]
		);
		const ran = tally(counts, params.n);
		return {
			metrics: { ...metrics, ...ran, available: 1 },
			checks: {
				everyTaskRanOnce: ran.ranOnce === params.n,
				retainedKept: left.c === params.retained + ((params.retainFor ?? 0) === 0 ? 0 : params.n),
				everyRowSuccess: left.notSuccess === 0
			},
			info: { table, retained: params.retained }
		};
	} finally {
		await creator.close();
	}
}
