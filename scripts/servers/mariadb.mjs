// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A throw-away MariaDB server from the machine's own binaries, shared by the tests
// (tests/setup/mariadb.ts wraps it in vitest hooks and connector factories) and the benchmark
// (bench/lib/storeServers.mjs): mariadb-install-db into a fresh temporary directory, mariadbd on a
// free loopback port (its unix socket in the same directory; as the mysql user when this process
// is root), a user with a password and a database made by its init file, the background task
// table created from the shipped definition, and everything stopped and removed afterwards. A
// server left behind by a process killed outright (SIGKILL) is stopped and removed by the next
// start (the directory names the pid of the process that owns it).
//
// By default the server trades durability for speed (small InnoDB files, no flush at commit, no
// doublewrite: the tests' server starts in a fraction of a second); `durable: true` keeps
// InnoDB's defaults (flush at every commit, doublewrite), so a benchmark measures what a
// deployment pays.
//
// When the server cannot start, startMariaDb() throws with the reason (and the server log).
// scripts/ensure-mariadb.sh installs the binaries on Debian.
import { execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
	describeError,
	freePort,
	isAlive,
	orphanedTempDirs,
	ownedTempDir,
	userIds
} from "./processHelpers.mjs";
import { join } from "node:path";
import { promisify } from "node:util";
// The MySQL connector's own driver (installed with it).
import { createConnection } from "mysql2/promise";

const run = promisify(execFile);

/**
 * The shipped table definition (docs/background-task.mysql.sql).
 */
export const MYSQL_TABLE_SQL_FILE = new URL(
	"../../docs/background-task.mysql.sql",
	import.meta.url
);

/**
 * The table name used in the shipped definition.
 */
export const MYSQL_TABLE_NAME = "background_task";

/**
 * The user and database the init file creates.
 */
const USER = "twin";
const PASSWORD = "twin-test-password";
const DATABASE = "twin_test";

/**
 * The prefix of the servers' temporary directories.
 */
const DIR_PREFIX = "twin-bg-mariadb-";

/**
 * Settings read back from the running server (for a benchmark's results).
 */
const REPORTED_SETTINGS = [
	"version",
	"innodb_flush_log_at_trx_commit",
	"innodb_doublewrite",
	"innodb_buffer_pool_size",
	"innodb_log_file_size",
	"sync_binlog",
	"log_bin",
	"max_connections"
];

/**
 * Find mariadbd and mariadb-install-db: $MARIADB_BIN, then /usr/sbin, /usr/bin and the PATH
 * (Debian has the server in /usr/sbin, the initialiser in /usr/bin).
 * @returns {{ mariadbd: string, installDb: string } | undefined} The binaries, or undefined when
 *   they are not installed.
 */
export function findMariaDbBinaries() {
	const dirs = [
		...(process.env.MARIADB_BIN ? [process.env.MARIADB_BIN] : []),
		"/usr/sbin",
		"/usr/bin",
		"/usr/local/sbin",
		"/usr/local/bin",
		...(process.env.PATH ?? "").split(":").filter(p => p.length > 0)
	];
	const find = name => dirs.map(dir => join(dir, name)).find(path => existsSync(path));
	const mariadbd = find("mariadbd");
	const installDb = find("mariadb-install-db");
	return mariadbd && installDb ? { mariadbd, installDb } : undefined;
}

/**
 * Wait for a child to exit, killing it after a grace period.
 * @param {import("node:child_process").ChildProcess} child The child.
 * @param {number} graceMs How long to wait before SIGKILL.
 * @returns {Promise<void>} Resolves when it has exited.
 */
async function waitForExit(child, graceMs) {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}
	const exited = new Promise(resolve => child.once("exit", () => resolve(undefined)));
	const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
	await exited;
	clearTimeout(timer);
}

/**
 * Stop and remove the servers whose owning process is gone (one killed with SIGKILL cannot clean
 * up, and mariadbd outlives it). Only directories with an owner file are touched, only when that
 * pid no longer exists, and a server pid is killed only when its command line names the
 * directory.
 */
function removeOrphans() {
	for (const dir of orphanedTempDirs(DIR_PREFIX)) {
		try {
			const pidFile = join(dir, "mariadbd.pid");
			const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
			if (pid > 0 && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) {
				process.kill(pid, "SIGKILL");
			}
			rmSync(dir, { recursive: true, force: true });
		} catch {
			// best effort: already gone
		}
	}
}

/**
 * @typedef {object} MariaDb
 * @property {string} host Loopback host.
 * @property {number} port TCP port.
 * @property {string} user The user, with every privilege.
 * @property {string} password Its password.
 * @property {string} database The database, holding the shipped table.
 * @property {number} pid mariadbd's process id.
 * @property {string} dir The temporary directory (data, socket, log).
 * @property {boolean} durable Whether InnoDB runs with its default durability.
 * @property {Record<string, string>} settings Settings read back from the server (version,
 *   durability, memory).
 * @property {import("mysql2/promise").Connection} sql An admin connection (multiple statements
 *   allowed) for set-up and inspection; ended by stop().
 * @property {{ install: number, server: number }} startSeconds Seconds from the start to a
 *   connection on the new server: the data directory, then the server.
 * @property {() => Promise<void>} stop Stop the server and remove its directory; idempotent.
 * @property {() => void} stopSync The same, synchronously (SIGKILL; for process exit handlers).
 */

/**
 * Start a throw-away server.
 * @param {{ durable?: boolean }} [options] `durable`: keep InnoDB's default durability (default
 *   false: no flush at commit, no doublewrite, small files).
 * @returns {Promise<MariaDb>} The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startMariaDb(options = {}) {
	const durable = options.durable === true;
	const binaries = findMariaDbBinaries();
	if (!binaries) {
		throw new Error(
			"MariaDB server binaries (mariadbd, mariadb-install-db) not found: run scripts/ensure-mariadb.sh (Debian: apt-get install mariadb-server) or set MARIADB_BIN"
		);
	}
	// mariadbd refuses to run as root unless told to; as root it is run as the mysql user.
	const asUser = process.getuid?.() === 0 ? "mysql" : undefined;
	const ids = asUser ? userIds(asUser) : undefined;
	if (asUser && !ids) {
		throw new Error(
			`Running as root but there is no ${asUser} user to run mariadbd as: run scripts/ensure-mariadb.sh (the mariadb-server package creates it)`
		);
	}
	removeOrphans();

	const dir = ownedTempDir(DIR_PREFIX);
	const remove = () => rmSync(dir, { recursive: true, force: true });
	const dataDir = join(dir, "data");
	const logFile = join(dir, "server.log");
	const initFile = join(dir, "init.sql");
	// Its own directory for temporary tables: /tmp may be shared with servers in other PID
	// namespaces, whose temporary files have the same names (#sql-temptable-<pid>-...).
	const tmpDir = join(dir, "tmp");
	mkdirSync(tmpDir);
	const readLog = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "(no server log)");
	writeFileSync(
		initFile,
		[
			`CREATE USER IF NOT EXISTS '${USER}'@'%' IDENTIFIED BY '${PASSWORD}';`,
			`GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%';`,
			`CREATE DATABASE IF NOT EXISTS \`${DATABASE}\`;`
		].join("\n")
	);
	if (ids) {
		chownSync(dir, ids.uid, ids.gid);
		chownSync(initFile, ids.uid, ids.gid);
		chownSync(tmpDir, ids.uid, ids.gid);
	}
	const userArgs = asUser ? [`--user=${asUser}`] : [];
	const innodbArgs = [
		// Small InnoDB files and no durability: a test server starts in a fraction of a second.
		...(durable
			? []
			: [
					"--innodb-buffer-pool-size=32M",
					"--innodb-log-file-size=4M",
					"--innodb-flush-log-at-trx-commit=0",
					"--innodb-doublewrite=0"
				]),
		// No io_uring or libaio: container runtimes may forbid them.
		"--innodb-use-native-aio=0",
		`--tmpdir=${tmpDir}`
	];

	const installStarted = performance.now();
	try {
		await run(
			binaries.installDb,
			[
				"--no-defaults",
				`--datadir=${dataDir}`,
				...userArgs,
				"--auth-root-authentication-method=normal",
				"--skip-test-db",
				"--skip-name-resolve",
				...innodbArgs
			],
			{ timeout: 60000 }
		);
	} catch (err) {
		remove();
		throw new Error(`mariadb-install-db failed in ${dataDir}: ${describeError(err)}`);
	}
	const install = (performance.now() - installStarted) / 1000;

	const serverStarted = performance.now();
	/** @type {import("node:child_process").ChildProcess | undefined} */
	let child;
	/** @type {import("mysql2/promise").Connection | undefined} */
	let sql;
	let port = 0;
	let lastError = "";
	// A port found free can be taken before the server binds it: a few attempts, each on a new port.
	for (let attempt = 0; attempt < 3 && !sql; attempt++) {
		port = await freePort();
		const server = spawn(
			binaries.mariadbd,
			[
				"--no-defaults",
				`--datadir=${dataDir}`,
				...userArgs,
				`--socket=${join(dir, "mariadbd.sock")}`,
				`--pid-file=${join(dir, "mariadbd.pid")}`,
				`--log-error=${logFile}`,
				`--port=${port}`,
				"--bind-address=127.0.0.1",
				"--skip-name-resolve",
				`--init-file=${initFile}`,
				// Debian's packaged defaults.
				"--character-set-server=utf8mb4",
				"--collation-server=utf8mb4_general_ci",
				"--max-connections=200",
				...innodbArgs
			],
			{ stdio: ["ignore", "ignore", "pipe"] }
		);
		let stderr = "";
		server.stderr?.on("data", chunk => {
			stderr += chunk.toString();
		});
		let exited;
		server.once("exit", (code, signal) => {
			exited = `mariadbd exited (code ${code}, signal ${signal})`;
		});
		server.once("error", err => {
			exited = `mariadbd could not be run: ${err.message}`;
		});
		const deadline = Date.now() + 30000;
		while (!sql && !exited && Date.now() < deadline) {
			try {
				sql = await createConnection({
					host: "127.0.0.1",
					port,
					user: USER,
					password: PASSWORD,
					database: DATABASE,
					multipleStatements: true,
					connectTimeout: 2000
				});
			} catch (err) {
				lastError = err?.message;
				await new Promise(resolve => setTimeout(resolve, 50));
			}
		}
		if (sql) {
			child = server;
		} else {
			lastError = `${exited ?? `no connection within 30 s (${lastError})`}\n--- server log ---\n${readLog()}\n${stderr}`;
			server.kill("SIGKILL");
			await waitForExit(server, 1000);
		}
	}
	if (!sql || !child) {
		remove();
		throw new Error(`MariaDB did not start on 127.0.0.1:${port}: ${lastError}`);
	}
	const serverSeconds = (performance.now() - serverStarted) / 1000;
	const serverProcess = child;
	const admin = sql;
	// An error on the admin connection (the server stopping) is not the caller's failure.
	admin.on("error", () => {});

	let stopped = false;
	const stopServer = async () => {
		try {
			serverProcess.kill("SIGTERM");
			await waitForExit(serverProcess, 10000);
		} finally {
			remove();
		}
	};
	const stop = async () => {
		if (stopped) {
			return;
		}
		stopped = true;
		await admin.end().catch(() => {});
		await stopServer();
	};
	const stopSync = () => {
		if (stopped) {
			return;
		}
		stopped = true;
		admin.destroy();
		if (serverProcess.exitCode === null && serverProcess.signalCode === null) {
			serverProcess.kill("SIGKILL");
		}
		remove();
	};

	const settings = {};
	try {
		await admin.query(readFileSync(MYSQL_TABLE_SQL_FILE, "utf8"));
		for (const name of REPORTED_SETTINGS) {
			const [rows] = await admin.query(`SELECT @@${name} AS v`);
			settings[name] = String(/** @type {any[]} */ (rows)[0]?.v);
		}
	} catch (err) {
		await stop();
		throw new Error(
			`Preparing the server (the table from ${MYSQL_TABLE_SQL_FILE.pathname}) failed: ${describeError(err)}`
		);
	}

	return {
		host: "127.0.0.1",
		port,
		user: USER,
		password: PASSWORD,
		database: DATABASE,
		pid: /** @type {number} */ (serverProcess.pid),
		dir,
		durable,
		settings,
		sql: admin,
		startSeconds: { install, server: serverSeconds },
		stop,
		stopSync
	};
}

/**
 * The config of TWIN's MySqlEntityStorageConnector for a table on the server.
 * @param {{ host: string, port: number, user: string, password: string, database: string }} server
 *   The server (or its details).
 * @param {string} [tableName] The table, the shipped one by default.
 * @returns {{ host: string, port: number, user: string, password: string, database: string, tableName: string }}
 *   The config.
 */
export function mySqlConfig(server, tableName = MYSQL_TABLE_NAME) {
	return {
		host: server.host,
		port: server.port,
		user: server.user,
		password: server.password,
		database: server.database,
		tableName
	};
}

/**
 * Create a table from the shipped definition under another name (the connector's bootstrap would
 * make FLOAT number columns: see docs/background-task.mysql.sql).
 * @param {import("mysql2/promise").Connection} sql An admin connection allowing multiple
 *   statements.
 * @param {string} tableName The new table.
 * @returns {Promise<void>} Resolves when created.
 */
export async function createMySqlTable(sql, tableName) {
	await sql.query(
		readFileSync(MYSQL_TABLE_SQL_FILE, "utf8").replaceAll(MYSQL_TABLE_NAME, tableName)
	);
}
