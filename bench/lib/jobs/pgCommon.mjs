// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Shared setup of the PostgreSQL benchmark jobs: the server started by bench/run.mjs (details in
// the environment), admin clients, the shipped task table under a per-run name, a backlog cloned in
// SQL from a task the connector itself created, per-task run counters, and the CPU meters: this
// process (process.cpuUsage, all its threads), the PostgreSQL server (every process of the
// postmaster) and the whole machine (/proc/stat).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setEnvironmentData } from "node:worker_threads";
import postgres from "postgres";
import { ENV_ERROR_KEY, ENV_KEY } from "../postgresServer.mjs";
import { PER_TASK_KEY } from "./pgHandlers.mjs";

/**
 * The shipped table definition, with the table name `background_task`.
 */
const TABLE_SQL_FILE = new URL("../../../docs/background-task.postgresql.sql", import.meta.url);

/**
 * The final task statuses.
 */
export const FINAL_STATUSES = ["success", "failed", "cancelled"];

/**
 * The running benchmark server, from the environment the parent set.
 * @returns {{ host: string, port: number, user: string, password: string, database: string, databases: { graphile: string, native: string }, postmasterPid: number, settings: Record<string, string> }}
 *   The server details.
 * @throws Error when the parent did not start a server (with its reason when it failed to).
 */
export function benchPostgres() {
	const raw = process.env[ENV_KEY];
	if (!raw) {
		throw new Error(
			process.env[ENV_ERROR_KEY]
				? `The benchmark PostgreSQL server did not start: ${process.env[ENV_ERROR_KEY]}`
				: `No benchmark PostgreSQL server (${ENV_KEY} unset): run PostgreSQL scenarios through bench/run.mjs`
		);
	}
	return JSON.parse(raw);
}

/**
 * A postgres.js admin client on a database of the server (one connection).
 * @param {ReturnType<typeof benchPostgres>} pg The server.
 * @param {string} [database] The database (default: the user's default one).
 * @returns {import("postgres").Sql} The client; end it with `sql.end()`.
 */
export function adminSql(pg, database = pg.database) {
	return postgres({
		host: pg.host,
		port: pg.port,
		user: pg.user,
		password: pg.password,
		database,
		max: 1,
		onnotice: () => {}
	});
}

/**
 * A connection string for a database of the server.
 * @param {ReturnType<typeof benchPostgres>} pg The server.
 * @param {string} database The database.
 * @returns {string} The URL.
 */
export function connectionString(pg, database) {
	return `postgres://${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`;
}

/**
 * A name unique to this run (lower case, a valid unquoted identifier).
 * @param {string} prefix The prefix.
 * @returns {string} The name.
 */
export function uniqueName(prefix) {
	return `${prefix}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
}

/**
 * Create the shipped task table (docs/background-task.postgresql.sql) under another name; its
 * indexes are renamed with it.
 * @param {import("postgres").Sql} sql An admin client on the database.
 * @param {string} table The table name (lower case identifier).
 * @returns {Promise<void>} Resolves when created.
 */
export async function createTaskTable(sql, table) {
	const text = readFileSync(TABLE_SQL_FILE, "utf8").replaceAll("background_task", table);
	await sql.unsafe(text);
}

/**
 * Clone a stored task n times in one statement: every column as the template's except a fresh
 * 32-hex id (the connector's id format) and payload { i } for i = from .. from + n - 1. The
 * template was created by the connector, so every row is exactly what its create() stores,
 * including any column a backend adds.
 * @param {import("postgres").Sql} sql An admin client on the table's database.
 * @param {string} table The table.
 * @param {string} templateId The template task's id.
 * @param {number} from The first index.
 * @param {number} n How many rows.
 * @param {Record<string, unknown>} [extraPayload] More payload fields (JSON), e.g. { ms: 20 }.
 * @returns {Promise<void>} Resolves when inserted.
 */
export async function cloneBacklog(sql, table, templateId, from, n, extraPayload = {}) {
	if (n <= 0) {
		return;
	}
	const columns = (
		await sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} ORDER BY ordinal_position`
	).map(r => r.column_name);
	const quoted = columns.map(c => `"${c}"`);
	const select = columns.map(c =>
		c === "id"
			? `md5(random()::text || g::text)`
			: c === "payload"
				? `jsonb_build_object('i', g) || $2::text::jsonb`
				: `t."${c}"`
	);
	await sql.unsafe(
		`INSERT INTO "${table}" (${quoted.join(", ")}) SELECT ${select.join(", ")} FROM "${table}" t, generate_series($3::int, $4::int) g WHERE t."id" = $1`,
		[templateId, JSON.stringify(extraPayload), from, from + n - 1]
	);
}

/**
 * Make the measured window start from the same server state for every peer: statistics for the
 * planner on the freshly filled table (a real queue has them; a table filled in one statement has
 * none until autovacuum gets to it) and a checkpoint, so one does not fall at a random point of
 * the window.
 * @param {import("postgres").Sql} sql An admin client on the table's database.
 * @param {string} qualifiedTable The table, quoted as needed.
 * @returns {Promise<void>} Resolves when done.
 */
export async function settleServer(sql, qualifiedTable) {
	await sql.unsafe(`ANALYZE ${qualifiedTable}`);
	await sql.unsafe("CHECKPOINT");
}

/**
 * How many transactions stored the rows of a table whose payload index i is below `below`: the
 * distinct xmin (inserting transaction id) of those rows, read before anything updated them. With
 * one call's rows stored by one transaction, this is the number of calls; with one transaction per
 * row, the number of rows. Exact whatever else the server does meanwhile.
 * @param {import("postgres").Sql} sql An admin client on the table's database.
 * @param {string} qualifiedTable The table, quoted as needed.
 * @param {number} below The bound on payload.i (the measured tasks are 0 .. below - 1).
 * @returns {Promise<number>} The transactions.
 */
export async function insertTransactions(sql, qualifiedTable, below) {
	const [row] = await sql.unsafe(
		`SELECT count(DISTINCT xmin::text)::int AS c FROM ${qualifiedTable} WHERE ("payload"::jsonb->>'i')::int < $1`,
		[below]
	);
	return row.c;
}

/**
 * The server's current WAL insert position, for walBytesSince().
 * @param {import("postgres").Sql} sql An admin client.
 * @returns {Promise<string>} The LSN.
 */
export async function walPosition(sql) {
	const [row] = await sql.unsafe("SELECT pg_current_wal_lsn()::text AS l");
	return row.l;
}

/**
 * WAL bytes written by the whole server since a position (with --parallel 1, the job's own writes,
 * full-page images after a checkpoint included, plus whatever autovacuum wrote meanwhile).
 * @param {import("postgres").Sql} sql An admin client.
 * @param {string} since The position from walPosition().
 * @returns {Promise<number>} Bytes.
 */
export async function walBytesSince(sql, since) {
	const [row] = await sql.unsafe(
		"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS d",
		[since]
	);
	return Number(row.d);
}

/**
 * Payloads { i } for i = from .. from + n - 1, in batches of `batch` (the last may be shorter),
 * built before a measured window.
 * @param {number} from The first index.
 * @param {number} n How many.
 * @param {number} batch The batch size.
 * @returns {{ i: number }[][]} The batches.
 */
export function payloadBatches(from, n, batch) {
	const batches = [];
	for (let start = from; start < from + n; start += batch) {
		const payloads = [];
		for (let i = start; i < Math.min(from + n, start + batch); i++) {
			payloads.push({ i });
		}
		batches.push(payloads);
	}
	return batches;
}

/**
 * Wait for an asynchronous condition, polling.
 * @param {() => Promise<boolean>} check The condition.
 * @param {number} timeoutMs The bound.
 * @param {string} what For the error.
 * @param {number} [everyMs] The polling period.
 * @returns {Promise<void>} Resolves when true.
 */
export async function waitForAsync(check, timeoutMs, what, everyMs = 1) {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) {
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		}
		await new Promise(resolve => setTimeout(resolve, everyMs));
	}
}

/**
 * Per-task run counters shared with the handlers (pgHandlers.mjs), published before the
 * connector starts its worker pool.
 * @param {number} n The number of tasks (indexes 0 .. n - 1).
 * @returns {Uint8Array} The counters.
 */
export function perTaskCounters(n) {
	const buffer = new SharedArrayBuffer(Math.max(8, Math.ceil(n / 8) * 8));
	setEnvironmentData(PER_TASK_KEY, buffer);
	return new Uint8Array(buffer);
}

/**
 * How many tasks ran never, once, and more than once.
 * @param {ArrayLike<number>} counts Runs per task.
 * @param {number} n The number of tasks.
 * @returns {{ neverRan: number, ranOnce: number, ranTwiceOrMore: number }} The tally.
 */
export function tally(counts, n) {
	let neverRan = 0;
	let ranOnce = 0;
	let ranTwiceOrMore = 0;
	for (let i = 0; i < n; i++) {
		const c = counts[i];
		if (c === 0) {
			neverRan++;
		} else if (c === 1) {
			ranOnce++;
		} else {
			ranTwiceOrMore++;
		}
	}
	return { neverRan, ranOnce, ranTwiceOrMore };
}

/**
 * Whether a type has no active task left in one of our tables (none pending or processing), for
 * the end of a timed window. The rules keep "dateNextProcess" set exactly while a task is active,
 * and the claim index holds only those rows, so the answer never reads the final ones: a count
 * over the whole table, polled inside the window, cost a run beside a million retained tasks
 * about 300 ms a poll (docs/performance.md).
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {string} type The type.
 * @param {string} threadId The tasks' thread.
 * @returns {Promise<boolean>} True when no task of the type is active.
 */
export async function noActiveTask(sql, table, type, threadId = "main") {
	const [row] = await sql.unsafe(
		`SELECT EXISTS (SELECT 1 FROM "${table}" WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" IS NOT NULL) AS "active"`,
		[type, threadId]
	);
	return !row.active;
}

/**
 * Epoch microseconds, high resolution, comparable across processes of one machine.
 * @returns {number} Microseconds.
 */
export function nowUs() {
	return (performance.timeOrigin + performance.now()) * 1000;
}

let usPerTick;

/**
 * Microseconds per clock tick of /proc (USER_HZ, almost always 100).
 * @returns {number} Microseconds.
 */
function tickUs() {
	if (usPerTick === undefined) {
		let hz = 100;
		try {
			hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
		} catch {
			// keep 100
		}
		usPerTick = 1e6 / hz;
	}
	return usPerTick;
}

/**
 * The fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state).
 * @param {string | number} pid The process.
 * @returns {string[] | undefined} The fields, undefined when the process is gone.
 */
function procStat(pid) {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, "utf8");
		return text.slice(text.lastIndexOf(")") + 2).split(" ");
	} catch {
		return undefined;
	}
}

/**
 * CPU time of a live process in microseconds: /proc/<pid>/schedstat (nanoseconds on CPU), or
 * utime + stime in ticks where schedstat is missing.
 * @param {string | number} pid The process.
 * @param {string[]} stat Its stat fields.
 * @returns {number} Microseconds.
 */
function processCpuUs(pid, stat) {
	try {
		return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
	} catch {
		return (Number(stat[11]) + Number(stat[12])) * tickUs();
	}
}

/**
 * CPU used by the PostgreSQL server so far, microseconds: the postmaster and every live child
 * (backends, WAL writer, checkpointer, autovacuum...), plus the children that already exited and
 * were reaped by the postmaster (its cutime + cstime, clock-tick resolution). Deltas of this are
 * the server's CPU over a window, including backends that came and went within it.
 * @param {number} postmasterPid The postmaster's pid.
 * @returns {number} Microseconds (NaN when /proc is unreadable).
 */
export function serverCpuUs(postmasterPid) {
	const main = procStat(postmasterPid);
	if (!main) {
		return Number.NaN;
	}
	let total = processCpuUs(postmasterPid, main) + (Number(main[13]) + Number(main[14])) * tickUs();
	for (const entry of readdirSync("/proc")) {
		if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) {
			continue;
		}
		const stat = procStat(entry);
		if (stat && Number(stat[1]) === postmasterPid) {
			total += processCpuUs(entry, stat);
		}
	}
	return total;
}

/**
 * Busy CPU time of the whole machine so far (user, nice, system, irq, softirq, steal of
 * /proc/stat), microseconds.
 * @returns {number} Microseconds (NaN when unreadable).
 */
export function machineCpuUs() {
	try {
		const line = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
		const [user, nice, system, , , irq, softirq, steal] = line.slice(1).map(Number);
		return (user + nice + system + irq + softirq + (steal || 0)) * tickUs();
	} catch {
		return Number.NaN;
	}
}

/**
 * Measures a window: wall time, this process's CPU (all threads), the server's CPU, the machine's.
 */
export class CpuMeter {
	/**
	 * @param {number} postmasterPid The server's postmaster pid.
	 */
	constructor(postmasterPid) {
		this.pid = postmasterPid;
	}

	/**
	 * Start the window.
	 */
	start() {
		this.machine0 = machineCpuUs();
		this.server0 = serverCpuUs(this.pid);
		this.host0 = process.cpuUsage();
		this.t0 = performance.now();
	}

	/**
	 * The counters now (the end of a window whose result is computed later).
	 * @returns {{ t: number, host: NodeJS.CpuUsage, server: number, machine: number }} The sample.
	 */
	snapshot() {
		return {
			t: performance.now(),
			host: process.cpuUsage(this.host0),
			server: serverCpuUs(this.pid),
			machine: machineCpuUs()
		};
	}

	/**
	 * End the window now.
	 * @param {number} n The tasks processed in it.
	 * @param {number} [otherHostUs] CPU of other client processes (the node processes of a
	 *   multi-node job), microseconds, counted as host CPU.
	 * @returns {Record<string, number>} See result().
	 */
	stop(n, otherHostUs = 0) {
		return this.result(this.snapshot(), n, otherHostUs);
	}

	/**
	 * The measures of the window from its start to a snapshot.
	 * @param {ReturnType<CpuMeter["snapshot"]>} end The end of the window.
	 * @param {number} n The tasks processed in it.
	 * @param {number} [otherHostUs] CPU of other client processes, microseconds.
	 * @returns {Record<string, number>} tasksPerSec, wallMs, and per task: hostCpuUsPerTask (client
	 *   side: this process with all its threads, plus otherHostUs), serverCpuUsPerTask (every
	 *   PostgreSQL process), clientServerCpuUsPerTask (their sum), machineCpuUsPerTask (the whole
	 *   machine's busy time, other processes included) and the CPU percentages (100% = one core).
	 */
	result(end, n, otherHostUs = 0) {
		const wallMs = end.t - this.t0;
		const hostUs = end.host.user + end.host.system + otherHostUs;
		const serverUs = end.server - this.server0;
		const machineUs = end.machine - this.machine0;
		return {
			tasksPerSec: n / (wallMs / 1000),
			wallMs,
			hostCpuUsPerTask: hostUs / n,
			serverCpuUsPerTask: serverUs / n,
			clientServerCpuUsPerTask: (hostUs + serverUs) / n,
			machineCpuUsPerTask: machineUs / n,
			hostCpuPercent: (hostUs / 1000 / wallMs) * 100,
			serverCpuPercent: (serverUs / 1000 / wallMs) * 100,
			machineCpuPercent: (machineUs / 1000 / wallMs) * 100
		};
	}
}

/**
 * How often the end of a cold node's window is checked (pg-node), ms.
 */
const COLD_POLL_MS = 20;

/**
 * The bound on a cold node's window (pg-node), ms.
 */
const COLD_WINDOW_BOUND_MS = 300_000;

/**
 * Run `lanes` loops in parallel over indexes 0 .. n - 1 (lane k takes k, k + lanes, ...), each
 * awaiting its call before its next one.
 * @param {number} n The items.
 * @param {number} lanes The lanes.
 * @param {(i: number) => Promise<unknown>} call One call.
 * @returns {Promise<void>} Resolves when every lane is done.
 */
export async function inLanes(n, lanes, call) {
	await Promise.all(
		Array.from({ length: Math.min(lanes, n) }, async (_, lane) => {
			for (let i = lane; i < n; i += lanes) {
				await call(i);
			}
		})
	);
}

/**
 * How many of n tasks ran at least once so far.
 * @param {ArrayLike<number>} counts Runs per task.
 * @param {number} n The tasks.
 * @returns {number} The count.
 */
function ranSoFar(counts, n) {
	let ran = 0;
	for (let i = 0; i < n; i++) {
		if (counts[i] > 0) {
			ran++;
		}
	}
	return ran;
}

/**
 * How often autovacuum has analyzed and vacuumed a table so far (pg_stat_user_tables). Whether
 * the queue's table was analyzed before a cold window changes both peers' claim plans' cost
 * (docs/performance.md, "The server's first minute").
 * @param {{ sql: import("postgres").Sql, schema: string, table: string }} queueTable The table.
 * @returns {Promise<{ analyzes: number, vacuums: number }>} The counts (0 for a table not seen yet).
 */
async function autovacuumCounts({ sql, schema, table }) {
	const [row] =
		await sql`SELECT autoanalyze_count::int AS analyzes, autovacuum_count::int AS vacuums
		FROM pg_stat_user_tables WHERE schemaname = ${schema} AND relname = ${table}`;
	return row ?? { analyzes: 0, vacuums: 0 };
}

/**
 * The measured window of a cold node (pg-node): from `start()` until every task's handler ran
 * (the per-task counters, checked every 20 ms in this process) and then `recorded()` holds (the
 * table, polled every 20 ms; only once every handler ran, so a count over the table stays out of
 * most of the window's server CPU); bounded to 300 s. CPU as CpuMeter measures it.
 * @param {{ postmasterPid: number, n: number, counts: ArrayLike<number>, start: () => Promise<void>, recorded: () => Promise<boolean>, what: string, queueTable?: { sql: import("postgres").Sql, schema: string, table: string } }} options
 *   The server, the tasks, their run counters, the node's start, the end condition and its name,
 *   and the queue's table, whose autovacuum activity is read before and after the window.
 * @returns {Promise<Record<string, number>>} CpuMeter's measures, startMs (start() resolved),
 *   firstRunMs (a handler had run, to the poll's 20 ms) and allRanMs (every handler ran), from the
 *   start of the window, secondHalfRunsPerSec (the handlers' rate over the second half of the
 *   runs), and with queueTable, autoAnalyzedBefore (1 when autovacuum had analyzed the table
 *   before the window), autoAnalyzesInWindow and autoVacuumsInWindow.
 */
export async function coldWindow(options) {
	const { n, counts } = options;
	const before = options.queueTable ? await autovacuumCounts(options.queueTable) : undefined;
	const meter = new CpuMeter(options.postmasterPid);
	meter.start();
	const t0 = performance.now();
	await options.start();
	const startMs = performance.now() - t0;
	const left = () => Math.max(1, t0 + COLD_WINDOW_BOUND_MS - performance.now());
	let firstRunMs;
	let halfRanMs;
	await waitForAsync(
		async () => {
			const ran = ranSoFar(counts, n);
			if (firstRunMs === undefined && ran > 0) {
				firstRunMs = performance.now() - t0;
			}
			if (halfRanMs === undefined && ran >= n / 2) {
				halfRanMs = performance.now() - t0;
			}
			return ran === n;
		},
		left(),
		`every handler to run (${n} tasks)`,
		COLD_POLL_MS
	);
	const allRanMs = performance.now() - t0;
	await waitForAsync(options.recorded, left(), options.what, COLD_POLL_MS);
	const cpu = meter.stop(n);
	const after = options.queueTable ? await autovacuumCounts(options.queueTable) : undefined;
	return {
		...cpu,
		...(before && after
			? {
					autoAnalyzedBefore: before.analyzes > 0 ? 1 : 0,
					autoAnalyzesInWindow: after.analyzes - before.analyzes,
					autoVacuumsInWindow: after.vacuums - before.vacuums
				}
			: {}),
		startMs,
		firstRunMs: firstRunMs ?? allRanMs,
		allRanMs,
		// The handlers' rate over the second half, warm: how much of the window went to warming up.
		secondHalfRunsPerSec: n / 2 / ((allRanMs - (halfRanMs ?? 0)) / 1000)
	};
}
