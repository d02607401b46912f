// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A cold TWIN node on the native PostgreSQL backend (issue 21, item 1; scenario pg-node in
// pgNodeScenarios.mjs): what a node does, not a tuned bench. Each run is a fresh child process and a
// fresh table nobody analyzed:
// 1. a "creator" connector (the node's config, never started, no handler) makes the backlog
//    through the public API: create() awaited one by one in parallel lanes (each lane awaits its
//    create before its next one), or createMany() in calls of `batch`. Then its stop() (which does
//    nothing on a connector that never started) and the close of its connections: without a
//    session the backend uses a small pool whose connections close after 2 s idle, so the job waits
//    (up to 10 s) until the server shows them gone (pg_stat_activity), then checks the table holds
//    the backlog;
// 2. no ANALYZE, CHECKPOINT, VACUUM or warm-up;
// 3. a new connector (the node): registerHandler (with or without a state-change callback), then
//    the window from `await start()` to the last task recorded: every handler ran (per-task
//    counters, checked every 20 ms in this process), then the claim index asked every 20 ms until
//    no task of the type is pending or processing (noActiveTask); the rows are counted after the
//    window, for the checks (none left with retainFor 0, every one success when kept);
// 4. stop the node, drop the table.
import { NODE } from "./common.mjs";
import {
	adminSql,
	benchPostgres,
	coldWindow,
	inLanes,
	noActiveTask,
	payloadBatches,
	perTaskCounters,
	tally,
	uniqueName,
	waitForAsync
} from "./pgCommon.mjs";
import { notAvailable } from "./pgConnectorJobs.mjs";
import { constructNative, HANDLERS, nativeConfig } from "./pgNative.mjs";
import { registerEngineStandIn } from "./engineStandIn.mjs";

/**
 * The task type of the backlog.
 */
const TYPE = "bench";

/**
 * Rows of the type, and those of them not success.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @returns {Promise<{ rows: number, notSuccess: number }>} The counts.
 */
async function rowCounts(sql, table) {
	const [row] = await sql.unsafe(
		`SELECT count(*)::int AS rows, count(*) FILTER (WHERE "status" <> 'success')::int AS "notSuccess" FROM "${table}" WHERE "type" = $1`,
		[TYPE]
	);
	return row;
}

/**
 * Wait up to 10 s until the server shows no connection of the connector (application_name
 * twin-background-task) on the database that was not there before the creator connected. Not a
 * failure when some are left: with --parallel above 1, another job's connector may hold them.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} database The database.
 * @param {Set<number>} before The backend pids seen before the creator connected.
 * @returns {Promise<{ creatorCloseMs: number, creatorConnectionsLeft: number }>} The wait, ms, and
 *   the connections left.
 */
async function creatorConnectionsClosed(sql, database, before) {
	const t0 = performance.now();
	let left = 0;
	try {
		await waitForAsync(
			async () => {
				left = [...(await connectorPids(sql, database))].filter(pid => !before.has(pid)).length;
				return left === 0;
			},
			10_000,
			"the creator's connections to close",
			50
		);
	} catch {
		// Reported as creatorConnectionsLeft.
	}
	return { creatorCloseMs: performance.now() - t0, creatorConnectionsLeft: left };
}

/**
 * The backend pids of the connector's connections on the database now.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} database The database.
 * @returns {Promise<Set<number>>} The pids.
 */
async function connectorPids(sql, database) {
	const rows = await sql.unsafe(
		`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'twin-background-task'`,
		[database]
	);
	return new Set(rows.map(r => r.pid));
}

/**
 * The cold-node job on the native backend.
 * @param {{ mode: "inline" | "worker", retainFor: number, callback: boolean, build: "create" | "createMany", n: number, lanes: number, batch: number, concurrency: number, engine?: number }} params
 *   The parameters: execution mode, the tasks' retainFor, whether the handler has a state-change
 *   callback, how the backlog is made (create() in `lanes` lanes, or createMany() in calls of
 *   `batch`), the backlog size and the concurrency; with engine, a stand-in engine of that many
 *   components is registered, whose clone data every job carries.
 * @returns {Promise<object>} The result.
 */
export async function coldNodeNative(params) {
	const { n, retainFor } = params;
	const server = benchPostgres();
	const database = server.databases.native;
	const table = uniqueName("bg_cold");
	const config = { executionMode: params.mode, concurrency: params.concurrency };
	// A --variant's entries (bench/run.mjs) over the defaults.
	const postgresql = { ...nativeConfig(server, table), ...params.postgresql };
	// Published before any connector of this process starts a worker pool.
	const counts = perTaskCounters(n);
	// A node's engine, so each job carries clone data of a node's size (engineStandIn.mjs).
	const engine = params.engine ? registerEngineStandIn(params.engine) : undefined;
	const creator = constructNative(config, postgresql);
	if (creator.notAvailable) {
		return notAvailable(creator.notAvailable);
	}
	const sql = adminSql(server, database);
	let node;
	let started = false;
	try {
		// 1. The backlog, through the public API of a connector that never starts.
		const before = await connectorPids(sql, database);
		const t0 = performance.now();
		if (params.build === "createMany") {
			for (const payloads of payloadBatches(0, n, params.batch)) {
				await creator.connector.createMany(TYPE, payloads, { retainFor });
			}
		} else {
			await inLanes(n, params.lanes, i => creator.connector.create(TYPE, { i }, { retainFor }));
		}
		const createMs = performance.now() - t0;
		await creator.connector.stop(NODE);
		const creatorClose = await creatorConnectionsClosed(sql, database, before);
		const backlog = await rowCounts(sql, table);

		// 3. The node.
		node = constructNative(config, postgresql).connector;
		let callbackCalls = 0;
		const onState = params.callback
			? async () => {
					callbackCalls++;
				}
			: undefined;
		await node.registerHandler(TYPE, HANDLERS, "count", onState);
		const metrics = await coldWindow({
			postmasterPid: server.postmasterPid,
			n,
			counts,
			start: async () => {
				await node.start(NODE);
				started = true;
			},
			queueTable: { sql, schema: "public", table },
			recorded: async () => noActiveTask(sql, table, TYPE),
			what: "no task of the type to be pending or processing"
		});
		const last = await rowCounts(sql, table);
		const t = tally(counts, n);
		const checks = {
			backlogStored: backlog.rows === n,
			everyTaskRanOnce: t.ranOnce === n
		};
		if (retainFor === 0) {
			checks.everyTaskRemoved = last.rows === 0;
		} else {
			checks.everyTaskKeptAsSuccess = last.rows === n && last.notSuccess === 0;
		}
		if (params.callback) {
			// processing and success at least, for each task.
			checks.callbackCalledPerTask = callbackCalls >= n;
		}
		return {
			metrics: {
				available: 1,
				...metrics,
				createPerSec: n / (createMs / 1000),
				createMs,
				...creatorClose,
				callbackCallsPerTask: params.callback ? callbackCalls / n : undefined,
				engineCloneBytes: engine?.bytes,
				...t
			},
			checks,
			info: { table, config: { ...config, postgresql: { ...postgresql, password: "***" } } }
		};
	} finally {
		if (started) {
			await node.stop(NODE);
		}
		for (const name of [table, `${table}_rate`, `${table}_serial`]) {
			await sql.unsafe(`DROP TABLE IF EXISTS "${name}"`);
		}
		await sql.end({ timeout: 5 });
		engine?.unregister();
	}
}
