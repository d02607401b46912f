// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A one-off measurement for docs/scale-out.md: how fast the native PostgreSQL backend's batch
// claim (PostgresTaskSource.fetch: one UPDATE ... FROM (SELECT ... ORDER BY ... LIMIT n FOR UPDATE
// SKIP LOCKED) RETURNING, one commit) takes due tasks, per batch size and per number of claimers
// racing on the same table. No handler runs: each claimer loops over
//
//   fetch(batch) -> claim(id) of each fetched task (held in memory, no SQL) -> settle(task, remove)
//   of each, all in one event-loop turn, so the settle batch sends one DELETE ... fenced statement
//
// which is the SQL a node spends per batch when its handlers cost nothing: one claim statement and
// one settle statement, each its own commit. Claimed tasks are completed (removed, as retainFor 0)
// so processing rows do not pile up in front of the claim index, as in a running cluster.
//
//   npm run build && node bench/claimRate.mjs [--batches 1,10,100,500] [--claimers 1,4]
//                                             [--seconds 3] [--backlog 100000] [--ahead 0]
//
// --ahead k,...: before measuring, another source claims the k earliest due tasks and holds them
// (processing, leased), as the running and locally queued tasks of other nodes are: each claim
// then reads past them in the claim index. One row per value.
//
// It starts its own throw-away server with PostgreSQL's default durability (bench/lib/
// postgresServer.mjs: fsync on, synchronous_commit on, so every commit waits for its WAL flush),
// and for each (batch size, claimers) a fresh table holding a backlog of pending tasks of one type
// (ANALYZEd, then a CHECKPOINT), then runs the claimers, each a PostgresTaskSource with its own
// pool, in this process, for the given seconds. Reports claim statements per second, tasks per
// second, the p50/p99 latency of one claim and of one settle statement, and the client and server
// CPU per task. Prints a Markdown table and writes JSON (default .tmp/claim-rate.json).
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { serverCpuUs } from "./lib/jobs/pgCommon.mjs";
import { startBenchPostgres } from "./lib/postgresServer.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
	options: {
		batches: { type: "string", default: "1,10,100,500" },
		claimers: { type: "string", default: "1,4" },
		seconds: { type: "string", default: "3" },
		backlog: { type: "string", default: "100000" },
		ahead: { type: "string", default: "0" },
		out: { type: "string", default: join(here, "..", ".tmp", "claim-rate.json") }
	}
});
const batches = args.batches.split(",").map(Number);
const claimerCounts = args.claimers.split(",").map(Number);
const seconds = Number(args.seconds);
const backlog = Number(args.backlog);
const aheadCounts = args.ahead.split(",").map(Number);

const { PostgresTaskSource } = await import("../dist/esm/store/postgresql/postgresTaskSource.js");

/**
 * A percentile (nearest rank) of sorted values.
 * @param {number[]} sorted The values, ascending.
 * @param {number} p The percentile.
 * @returns {number} The value.
 */
function percentile(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Fill a table with pending tasks of type "claim", due in order (one ms apart, all in the past).
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {number} n How many.
 */
async function fill(sql, table, n) {
	const base = Date.now() - n - 60_000;
	await sql.unsafe(
		`INSERT INTO "${table}" ("id", "type", "threadId", "dateCreated", "dateModified", "dateNextProcess",
			"status", "retainFor", "payload")
		SELECT md5(g::text), 'claim', 'main', d, d, d, 'pending', 0, jsonb_build_object('i', g)
		FROM generate_series(1, $1::int) g,
			LATERAL (SELECT to_char(to_timestamp(($2::bigint + g) / 1000.0) AT TIME ZONE 'UTC',
				'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS d) AS dates`,
		[n, base]
	);
	await sql.unsafe(`ANALYZE "${table}"`);
	await sql.unsafe("CHECKPOINT");
}

const server = await startBenchPostgres();
process.once("exit", () => server.stopSync());
const config = table => ({
	host: server.host,
	port: server.port,
	user: server.user,
	password: server.password,
	database: server.database,
	tableName: table,
	maxConnections: 2,
	// No lease renewal inside the window; room for the largest batch in the local queue.
	leaseTimeout: 3_600_000,
	heartbeatInterval: 3_000_000,
	localQueueSize: 1000
});
const admin = postgres({
	host: server.host,
	port: server.port,
	user: server.user,
	database: server.database,
	max: 1,
	onnotice: () => {}
});

const results = [];
try {
	for (const ahead of aheadCounts) {
		for (const claimers of claimerCounts) {
			for (const batch of batches) {
				const table = `claim_rate_${batch}_${claimers}_${ahead}`;
				const sources = Array.from(
					{ length: claimers },
					() => new PostgresTaskSource(config(table))
				);
				// The first open creates the table and its indexes.
				for (const source of sources) {
					await source.open(() => {});
				}
				await fill(admin, table, backlog + ahead);
				// The tasks other nodes hold: processing, leased, at the head of the claim index.
				const holder = new PostgresTaskSource({ ...config(table), localQueueSize: 100_000 });
				await holder.open(() => {});
				for (let held = 0; held < ahead; ) {
					const { tasks: got } = await holder.fetch(
						"claim",
						"main",
						Math.min(1000, ahead - held),
						Date.now()
					);
					held += got.length;
				}
				const claimLatencies = [];
				const settleLatencies = [];
				let statements = 0;
				let tasks = 0;
				let exhausted = false;
				const server0 = serverCpuUs(server.postmasterPid);
				const client0 = process.cpuUsage();
				const start = performance.now();
				const startedAt = Date.now();
				const deadline = start + seconds * 1000;
				await Promise.all(
					sources.map(async source => {
						while (performance.now() < deadline && !exhausted) {
							const t0 = performance.now();
							const { tasks: fetched } = await source.fetch("claim", "main", batch, startedAt);
							const t1 = performance.now();
							claimLatencies.push(t1 - t0);
							statements++;
							if (fetched.length === 0) {
								exhausted = true;
								break;
							}
							const claimed = await Promise.all(
								fetched.map(t => source.claim(t.id, "main", startedAt))
							);
							const t2 = performance.now();
							const now = new Date().toISOString();
							const written = await Promise.all(
								claimed.map(c =>
									source.settle(
										{ ...c.claimed, status: "success", dateModified: now, dateCompleted: now },
										true
									)
								)
							);
							settleLatencies.push(performance.now() - t2);
							tasks += written.filter(Boolean).length;
						}
					})
				);
				const elapsed = (performance.now() - start) / 1000;
				const client = process.cpuUsage(client0);
				const serverUs = serverCpuUs(server.postmasterPid) - server0;
				const [{ leftProcessing: processing }] = await admin.unsafe(
					`SELECT count(*)::int AS "leftProcessing" FROM "${table}" WHERE "status" = 'processing'`
				);
				claimLatencies.sort((a, b) => a - b);
				settleLatencies.sort((a, b) => a - b);
				const row = {
					batch,
					claimers,
					ahead,
					seconds: Number(elapsed.toFixed(2)),
					claimStatementsPerSec: Math.round(statements / elapsed),
					tasksPerSec: Math.round(tasks / elapsed),
					claimP50Ms: Number(percentile(claimLatencies, 50).toFixed(2)),
					claimP99Ms: Number(percentile(claimLatencies, 99).toFixed(2)),
					settleP50Ms: Number(percentile(settleLatencies, 50).toFixed(2)),
					clientCpuUsPerTask: Math.round((client.user + client.system) / Math.max(1, tasks)),
					serverCpuUsPerTask: Math.round(serverUs / Math.max(1, tasks)),
					completed: tasks,
					leftProcessing: processing - ahead,
					exhausted
				};
				results.push(row);
				console.log(JSON.stringify(row));
				for (const source of [...sources, holder]) {
					await source.close();
				}
				await admin.unsafe(`DROP TABLE "${table}"`);
			}
		}
	}
} finally {
	await admin.end({ timeout: 5 });
	await server.stop();
}

const header =
	"| held ahead | claimers | batch | claim statements/s | tasks/s | p50 claim | p99 claim | p50 settle | client CPU/task | server CPU/task |";
console.log(`\n${header}\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const r of results) {
	console.log(
		`| ${r.ahead} | ${r.claimers} | ${r.batch} | ${r.claimStatementsPerSec.toLocaleString("en")} | ${r.tasksPerSec.toLocaleString("en")} | ${r.claimP50Ms} ms | ${r.claimP99Ms} ms | ${r.settleP50Ms} ms | ${r.clientCpuUsPerTask} µs | ${r.serverCpuUsPerTask} µs |${r.exhausted ? " (backlog exhausted)" : ""}`
	);
}
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(
	args.out,
	`${JSON.stringify({ date: new Date().toISOString(), loadAverage: loadavg(), server: server.settings, seconds, backlog, results }, null, "\t")}\n`
);
console.log(`\nWritten to ${args.out}`);
