// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A throw-away PostgreSQL server for the PostgreSQL benchmark scenarios (pgScenarios.mjs), started
// once by bench/run.mjs when a selected scenario needs it and shared by every peer (our native
// backend, our entity-storage path over TWIN's PostgreSQL connector, graphile-worker), each in its
// own database, schema or table. A plain-JS port of the approach of tests/setup/postgres.ts:
// initdb into a fresh temporary directory, pg_ctl on a free loopback port (unix socket in the same
// directory, trust authentication), run as the unprivileged `postgres` user when this process is
// root (initdb and postgres refuse to run as root), stopped and removed at the end. A server left
// behind by a run that was killed outright (SIGKILL) is stopped and removed by the next run.
//
// Unlike the test server (fsync off, synchronous_commit off), this one keeps PostgreSQL's DEFAULT
// durability settings, so every number is what a real deployment pays: fsync on,
// synchronous_commit on (each commit waits for its WAL flush), full_page_writes on, default
// shared_buffers, checkpoints and autovacuum. The only settings changed are where it listens and
// max_connections (200 instead of 100: eight graphile-worker or native node processes with a pool
// of 10 each, plus listeners and the admin clients, must fit). `SERVER_SETTINGS` lists them; the
// values the server actually runs with are read back with SHOW and written to the results JSON.
// (initdb runs with --no-sync: that only skips initdb's own final flush of the new data directory,
// not anything the server does.)
//
// The children reach it through the environment variable named by `ENV_KEY` (inherited from the
// parent): connection details, the postmaster pid (for the server CPU per task) and the database
// of each peer.
import { execFile, execFileSync } from "node:child_process";
import {
	chownSync,
	copyFileSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync
} from "node:fs";
import {
	describeError,
	freePort,
	isAlive,
	userIds
} from "../../scripts/servers/processHelpers.mjs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";

const run = promisify(execFile);

/**
 * The environment variable carrying the server's details to the benchmark children (JSON).
 */
export const ENV_KEY = "TWIN_BENCH_POSTGRES";

/**
 * The environment variable carrying why the server could not start, so the PostgreSQL jobs fail
 * with the reason instead of the whole run.
 */
export const ENV_ERROR_KEY = "TWIN_BENCH_POSTGRES_ERROR";

/**
 * Where the server log of the last run is kept when the server is removed (git-ignored .tmp/).
 */
export const SERVER_LOG_COPY = join(
	dirname(fileURLToPath(import.meta.url)),
	"..",
	"..",
	".tmp",
	"bench-postgres-server.log"
);

/**
 * The superuser initdb creates; its default database ("postgres") exists. TWIN's PostgreSQL
 * entity-storage connector ignores config.database and uses this one.
 */
const SUPERUSER = "postgres";

/**
 * One database per peer that honours config.database, so peers never collide (graphile-worker
 * also gets a fresh schema per run, the native backend a fresh table per run).
 */
export const DATABASES = { graphile: "bench_graphile", native: "bench_native" };

/**
 * The settings passed to the server besides listen address, port and socket directory. Everything
 * else is PostgreSQL's default.
 */
export const SERVER_SETTINGS = { max_connections: "200" };

/**
 * Settings read back from the running server for the results (durability and memory).
 */
const REPORTED_SETTINGS = [
	"server_version",
	"fsync",
	"synchronous_commit",
	"full_page_writes",
	"wal_level",
	"wal_sync_method",
	"shared_buffers",
	"max_wal_size",
	"checkpoint_timeout",
	"autovacuum",
	"max_connections",
	"jit"
];

/**
 * Find the directory holding initdb and pg_ctl: $PG_BIN, then the newest
 * /usr/lib/postgresql/<version>/bin, then the PATH.
 * @returns {string | undefined} The directory, or undefined when the binaries are not installed.
 */
export function findPostgresBin() {
	const candidates = [];
	if (process.env.PG_BIN) {
		candidates.push(process.env.PG_BIN);
	}
	const debian = "/usr/lib/postgresql";
	if (existsSync(debian)) {
		const versions = readdirSync(debian)
			.filter(v => /^\d+$/.test(v))
			.sort((a, b) => Number(b) - Number(a));
		candidates.push(...versions.map(v => join(debian, v, "bin")));
	}
	candidates.push(...(process.env.PATH ?? "").split(":").filter(p => p.length > 0));
	return candidates.find(dir => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
}

/**
 * The command line running a PostgreSQL binary, through runuser when root.
 * @param {string | undefined} asUser The user to run as when root.
 * @param {string} command The binary.
 * @param {string[]} args The arguments.
 * @returns {[string, string[]]} The file and arguments.
 */
function commandLine(asUser, command, args) {
	return asUser ? ["runuser", ["-u", asUser, "--", command, ...args]] : [command, args];
}

/**
 * The prefix of the servers' temporary directories.
 */
const DIR_PREFIX = "twin-bench-pg-";

/**
 * The file in a server's directory naming the pid of the bench process that owns it.
 */
const OWNER_FILE = "owner.pid";

/**
 * Stop and remove the servers of earlier bench runs whose owning process is gone (a run killed
 * with SIGKILL cannot clean up, and pg_ctl's server outlives it). Only directories with an owner
 * file are touched, and only when that pid no longer exists.
 * @param {string} bin The PostgreSQL binaries.
 * @param {string | undefined} asUser The user to run pg_ctl as when root.
 * @returns {Promise<void>} Resolves when done (best effort).
 */
async function removeOrphans(bin, asUser) {
	for (const name of readdirSync(tmpdir()).filter(n => n.startsWith(DIR_PREFIX))) {
		const dir = join(tmpdir(), name);
		let owner;
		try {
			owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
		} catch {
			continue;
		}
		if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) {
			continue;
		}
		try {
			if (existsSync(join(dir, "data", "postmaster.pid"))) {
				await run(
					...commandLine(asUser, join(bin, "pg_ctl"), [
						"-D",
						join(dir, "data"),
						"-m",
						"immediate",
						"-w",
						"stop"
					]),
					{ timeout: 30_000 }
				);
			}
		} catch {
			// not running
		}
		rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * @typedef {object} BenchPostgres
 * @property {string} host Loopback host.
 * @property {number} port TCP port.
 * @property {string} user The superuser (trust authentication: any password works).
 * @property {string} password A placeholder password (TWIN's connector requires one).
 * @property {string} database The user's default database.
 * @property {{ graphile: string, native: string }} databases The database of each peer.
 * @property {number} postmasterPid The postmaster's pid (its children are the server's processes).
 * @property {string} dir The temporary directory (data, socket, log).
 * @property {Record<string, string>} settings The settings the server runs with (SHOW).
 * @property {() => Promise<void>} stop Stop the server and remove its directory (idempotent).
 * @property {() => void} stopSync The same, synchronously (for process exit handlers).
 */

/**
 * Start a throw-away server with PostgreSQL's default durability settings and create a database
 * per peer.
 * @returns {Promise<BenchPostgres>} The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startBenchPostgres() {
	const bin = findPostgresBin();
	if (!bin) {
		throw new Error(
			"PostgreSQL server binaries (initdb, pg_ctl) not found in $PG_BIN, /usr/lib/postgresql/*/bin " +
				"or the PATH: run scripts/ensure-postgres.sh (installs Debian's postgresql package)"
		);
	}
	const asUser = process.getuid?.() === 0 ? "postgres" : undefined;
	await removeOrphans(bin, asUser);
	const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
	// The pid of the bench process owning this server, for removeOrphans() of later runs.
	writeFileSync(join(dir, OWNER_FILE), String(process.pid));
	const dataDir = join(dir, "data");
	const logFile = join(dir, "server.log");
	const remove = () => {
		// Keep the server log (a backend that crashed or a connection the server ended shows there).
		try {
			if (existsSync(logFile)) {
				mkdirSync(dirname(SERVER_LOG_COPY), { recursive: true });
				copyFileSync(logFile, SERVER_LOG_COPY);
			}
		} catch {
			// best effort
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const pg = async (command, args) =>
		run(...commandLine(asUser, join(bin, command), args), { timeout: 60_000 });

	if (asUser) {
		const ids = userIds(asUser);
		if (!ids) {
			remove();
			throw new Error(
				"Running as root, and initdb refuses to run as root, but there is no 'postgres' user to " +
					"run it as: run scripts/ensure-postgres.sh (the Debian package creates the user)"
			);
		}
		chownSync(dir, ids.uid, ids.gid);
	}

	try {
		await pg("initdb", [
			"-D",
			dataDir,
			"-U",
			SUPERUSER,
			"--auth=trust",
			"--encoding=UTF8",
			"--no-sync"
		]);
	} catch (err) {
		remove();
		throw new Error(`initdb failed in ${dataDir}: ${describeError(err)}`);
	}

	let port = 0;
	let started = false;
	let lastError = "";
	// A port found free can be taken before the server binds it: a few attempts, each on a new port.
	for (let attempt = 0; attempt < 3 && !started; attempt++) {
		port = await freePort();
		try {
			await pg("pg_ctl", [
				"-D",
				dataDir,
				"-l",
				logFile,
				"-w",
				"-t",
				"30",
				"-o",
				[
					"-c listen_addresses=127.0.0.1",
					`-c port=${port}`,
					`-c unix_socket_directories=${dir}`,
					...Object.entries(SERVER_SETTINGS).map(([k, v]) => `-c ${k}=${v}`)
				].join(" "),
				"start"
			]);
			started = true;
		} catch (err) {
			const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "(no server log)";
			lastError = `${describeError(err)}\n--- server log ---\n${log}`;
		}
	}
	if (!started) {
		remove();
		throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}: ${lastError}`);
	}

	let stopped = false;
	const stopArgs = ["-D", dataDir, "-m", "immediate", "-w", "stop"];
	const stop = async () => {
		if (stopped) {
			return;
		}
		stopped = true;
		try {
			await pg("pg_ctl", stopArgs);
		} catch {
			// already gone
		} finally {
			remove();
		}
	};
	const stopSync = () => {
		if (stopped) {
			return;
		}
		stopped = true;
		try {
			const [file, args] = commandLine(asUser, join(bin, "pg_ctl"), stopArgs);
			execFileSync(file, args, { stdio: "ignore", timeout: 30_000 });
		} catch {
			// already gone
		} finally {
			remove();
		}
	};

	const postmasterPid = Number(
		readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]
	);
	const sql = postgres({
		host: "127.0.0.1",
		port,
		user: SUPERUSER,
		database: SUPERUSER,
		max: 1,
		onnotice: () => {}
	});
	const settings = {};
	try {
		for (const database of Object.values(DATABASES)) {
			await sql.unsafe(`CREATE DATABASE ${database}`);
		}
		for (const name of REPORTED_SETTINGS) {
			const [row] = await sql.unsafe(`SHOW ${name}`);
			settings[name] = Object.values(row)[0];
		}
	} catch (err) {
		await sql.end({ timeout: 5 });
		await stop();
		throw new Error(`Preparing the benchmark server failed: ${describeError(err)}`);
	}
	await sql.end({ timeout: 5 });

	return {
		host: "127.0.0.1",
		port,
		user: SUPERUSER,
		password: "trust",
		database: SUPERUSER,
		databases: { ...DATABASES },
		postmasterPid,
		dir,
		settings,
		stop,
		stopSync
	};
}

/**
 * The description of a running server passed to the children (no functions).
 * @param {BenchPostgres} server The server.
 * @returns {object} The JSON-able details.
 */
export function serverDetails(server) {
	const { stop, stopSync, ...details } = server;
	return details;
}
