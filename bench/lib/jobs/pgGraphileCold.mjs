// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// graphile-worker as a cold node (issue 21, item 1; scenario pg-node), the peer of pgColdNode.mjs:
// a fresh process and a fresh schema per run (dropped at the end); the jobs added before the runner
// starts through WorkerUtils (addJob awaited one by one in parallel lanes, or addJobs in calls of
// `batch`), the utils released; no ANALYZE, CHECKPOINT or warm-up; then the window from run() (with
// its own pool from the connection string, as a node makes it, and the settings of pgGraphile.mjs)
// until every job ran (checked every 20 ms in this process) and its table has no job left (polled
// every 20 ms; the schema holds this run's jobs only).
import { makeWorkerUtils, run } from "graphile-worker";
import {
	adminSql,
	benchPostgres,
	coldWindow,
	connectionString,
	inLanes,
	payloadBatches,
	tally,
	uniqueName
} from "./pgCommon.mjs";
import { graphileSettings, jobsLeft, quietLogger } from "./pgGraphile.mjs";

/**
 * The cold-node job of graphile-worker.
 * @param {{ build: "addJob" | "addJobs", n: number, lanes: number, batch: number, concurrency: number }} params
 *   The parameters: how the jobs are added (addJob in `lanes` lanes, or addJobs in calls of
 *   `batch`), how many, and concurrentJobs.
 * @returns {Promise<object>} The result.
 */
export async function coldNodeGraphile(params) {
	const { n } = params;
	const server = benchPostgres();
	const conn = connectionString(server, server.databases.graphile);
	const schema = uniqueName("gw_cold");
	const admin = adminSql(server, server.databases.graphile);
	let runner;
	try {
		const utils = await makeWorkerUtils({ connectionString: conn, schema, logger: quietLogger });
		const t0 = performance.now();
		if (params.build === "addJobs") {
			for (const payloads of payloadBatches(0, n, params.batch)) {
				await utils.addJobs(payloads.map(payload => ({ identifier: "noop", payload })));
			}
		} else {
			await inLanes(n, params.lanes, i => utils.addJob("noop", { i }));
		}
		const createMs = performance.now() - t0;
		await utils.release();
		const stored = await jobsLeft({ admin, schema });

		const counts = new Uint8Array(n);
		const taskList = {
			noop: async payload => {
				counts[payload.i]++;
			}
		};
		const metrics = await coldWindow({
			postmasterPid: server.postmasterPid,
			n,
			counts,
			start: async () => {
				runner = await run({
					noHandleSignals: true,
					taskList,
					preset: {
						worker: {
							...graphileSettings(params.concurrency),
							connectionString: conn,
							schema,
							logger: quietLogger
						}
					}
				});
			},
			queueTable: { sql: admin, schema, table: "_private_jobs" },
			recorded: async () => (await jobsLeft({ admin, schema })) === 0,
			what: "graphile-worker's table to have no job left"
		});
		const t = tally(counts, n);
		return {
			metrics: {
				...metrics,
				createPerSec: n / (createMs / 1000),
				createMs,
				...t
			},
			checks: { backlogStored: stored === n, everyJobRanOnce: t.ranOnce === n },
			info: { graphileWorker: graphileSettings(params.concurrency), schema }
		};
	} finally {
		await runner?.stop();
		await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await admin.end({ timeout: 5 });
	}
}
