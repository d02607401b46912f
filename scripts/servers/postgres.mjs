// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A throw-away PostgreSQL server from the machine's own binaries, shared by the tests
// (tests/setup/postgres.ts: one server per test run, a database per spec file; a server of its
// own for a file that restarts it or needs TLS), the benchmark (bench/lib/postgresServer.mjs) and
// the demo (scripts/demo-lib/server.mjs): initdb into a fresh temporary directory, pg_ctl on a
// free loopback port (its unix socket in the same directory, trust authentication unless a
// password is asked for), run as the unprivileged `postgres` user when this process is root
// (initdb and postgres refuse to run as root), stopped and removed at the end. A server left
// behind by a process killed outright (SIGKILL) is stopped and removed by the next start (the
// directory names the pid of the process that owns it).
//
// The server runs with PostgreSQL's defaults except where it listens and the settings the caller
// passes: the benchmark and the demo keep the default durability (so every number is what a
// deployment pays), the tests pass FAST_SETTINGS (no flush at commit). initdb runs with --no-sync:
// that only skips initdb's own final flush of the new data directory.
//
// When the server cannot start, startPostgres() throws with the reason (and the server log).
// scripts/ensure-postgres.sh installs the binaries on Debian.
import { execFile, execFileSync } from "node:child_process";
import {
	chmodSync,
	chownSync,
	copyFileSync,
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync
} from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import {
	describeError,
	freePort,
	orphanedTempDirs,
	ownedTempDir,
	userIds
} from "./processHelpers.mjs";

const run = promisify(execFile);

/**
 * The superuser initdb creates; its default database ("postgres") exists. TWIN's PostgreSQL
 * entity-storage connector ignores config.database and connects to the user's default database.
 */
export const POSTGRES_SUPERUSER = "postgres";

/**
 * The settings of a test server: no flush at commit, fast rather than durable.
 */
export const FAST_SETTINGS = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" };

/**
 * The prefix of the servers' temporary directories.
 */
const DIR_PREFIX = "twin-pg-";

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
 * Stop and remove the servers whose owning process is gone (one killed with SIGKILL cannot clean
 * up, and pg_ctl's server outlives it).
 * @param {string} bin The PostgreSQL binaries.
 * @param {string | undefined} asUser The user to run pg_ctl as when root.
 * @returns {Promise<void>} Resolves when done (best effort).
 */
async function removeOrphans(bin, asUser) {
	for (const dir of orphanedTempDirs(DIR_PREFIX)) {
		try {
			if (existsSync(join(dir, "data", "postmaster.pid"))) {
				const stopArgs = ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"];
				await run(...commandLine(asUser, join(bin, "pg_ctl"), stopArgs), { timeout: 30_000 });
			}
		} catch {
			// not running
		}
		rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * Make a self-signed certificate and key for the server (CN=localhost, subjectAltName localhost
 * and 127.0.0.1), owned by the server's user with the key readable only by it, as the server
 * requires.
 * @param {string} dir The server's directory.
 * @param {string | undefined} asUser The server's user when this process is root.
 * @returns {Promise<string>} The certificate, PEM.
 */
async function makeCertificate(dir, asUser) {
	const cert = join(dir, "server.crt");
	const key = join(dir, "server.key");
	await run(
		"openssl",
		[
			"req",
			"-x509",
			"-newkey",
			"ec",
			"-pkeyopt",
			"ec_paramgen_curve:prime256v1",
			"-nodes",
			"-keyout",
			key,
			"-out",
			cert,
			"-days",
			"2",
			"-subj",
			"/CN=localhost",
			"-addext",
			"subjectAltName=DNS:localhost,IP:127.0.0.1"
		],
		{ timeout: 30000 }
	);
	chmodSync(key, 0o600);
	if (asUser) {
		const ids = userIds(asUser);
		for (const file of [cert, key]) {
			chownSync(file, ids?.uid ?? 0, ids?.gid ?? 0);
		}
	}
	return readFileSync(cert, "utf8");
}

/**
 * @typedef {object} PostgresOptions
 * @property {Record<string, string>} [settings] Server settings (-c name=value) besides where it
 *   listens; PostgreSQL's defaults otherwise.
 * @property {boolean} [ssl] Serve TLS (ssl=on) with a self-signed certificate for CN=localhost,
 *   IP 127.0.0.1, made by openssl in the server's directory.
 * @property {string} [password] Require this password of the superuser on TCP connections
 *   (scram-sha-256); trust authentication otherwise.
 * @property {string[]} [databases] Databases to create.
 * @property {string[]} [reportedSettings] Settings to read back with SHOW into `settings`.
 * @property {string} [keepLog] Where to copy the server log when the server is removed.
 */

/**
 * @typedef {object} Postgres
 * @property {string} host Loopback host.
 * @property {number} port TCP port.
 * @property {string} user The superuser.
 * @property {string | undefined} password The superuser's password (with the password option).
 * @property {string} database The user's default database.
 * @property {number} postmasterPid The postmaster's pid (its children are the server's processes).
 * @property {string} dir The temporary directory (data, socket, log).
 * @property {Record<string, string>} settings The reported settings, as the server runs with them.
 * @property {string | undefined} ca With the ssl option: the server's certificate (PEM).
 * @property {() => Promise<void>} restart Restart on the same port (fast shutdown: every
 *   connection is dropped).
 * @property {() => Promise<void>} stop Stop the server and remove its directory; idempotent.
 * @property {() => void} stopSync The same, synchronously (for process exit handlers).
 */

/**
 * Start a throw-away server.
 * @param {PostgresOptions} [options] Settings, TLS, password, databases.
 * @returns {Promise<Postgres>} The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startPostgres(options = {}) {
	const bin = findPostgresBin();
	if (!bin) {
		throw new Error(
			"PostgreSQL server binaries (initdb, pg_ctl) not found in $PG_BIN, /usr/lib/postgresql/*/bin " +
				"or the PATH: run scripts/ensure-postgres.sh (installs Debian's postgresql package)"
		);
	}
	const asUser = process.getuid?.() === 0 ? "postgres" : undefined;
	const ids = asUser ? userIds(asUser) : undefined;
	if (asUser && !ids) {
		throw new Error(
			"Running as root, and initdb refuses to run as root, but there is no 'postgres' user to " +
				"run it as: run scripts/ensure-postgres.sh (the Debian package creates the user)"
		);
	}
	await removeOrphans(bin, asUser);
	const dir = ownedTempDir(DIR_PREFIX);
	const dataDir = join(dir, "data");
	const logFile = join(dir, "server.log");
	const readLog = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "(no server log)");
	const remove = () => {
		if (options.keepLog && existsSync(logFile)) {
			try {
				mkdirSync(dirname(options.keepLog), { recursive: true });
				copyFileSync(logFile, options.keepLog);
			} catch {
				// best effort
			}
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const pg = async (command, args) =>
		run(...commandLine(asUser, join(bin, command), args), { timeout: 60_000 });
	const chown = file => ids && chownSync(file, ids.uid, ids.gid);
	chown(dir);

	const authArgs = ["--auth=trust"];
	if (options.password !== undefined) {
		const pwFile = join(dir, "password");
		writeFileSync(pwFile, `${options.password}\n`);
		chown(pwFile);
		authArgs.push("--auth-host=scram-sha-256", `--pwfile=${pwFile}`);
	}
	try {
		await pg("initdb", [
			"-D",
			dataDir,
			"-U",
			POSTGRES_SUPERUSER,
			...authArgs,
			"--encoding=UTF8",
			"--no-sync"
		]);
	} catch (err) {
		remove();
		throw new Error(`initdb failed in ${dataDir}: ${describeError(err)}`);
	}

	const settings = { ...options.settings };
	let ca;
	if (options.ssl) {
		try {
			ca = await makeCertificate(dir, asUser);
		} catch (err) {
			remove();
			throw new Error(`Making the test certificate with openssl failed: ${describeError(err)}`);
		}
		Object.assign(settings, {
			ssl: "on",
			ssl_cert_file: join(dir, "server.crt"),
			ssl_key_file: join(dir, "server.key")
		});
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
					...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)
				].join(" "),
				"start"
			]);
			started = true;
		} catch (err) {
			lastError = `${describeError(err)}\n--- server log ---\n${readLog()}`;
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
	const reported = {};
	if ((options.databases?.length ?? 0) > 0 || (options.reportedSettings?.length ?? 0) > 0) {
		const sql = postgres({
			host: "127.0.0.1",
			port,
			user: POSTGRES_SUPERUSER,
			password: options.password,
			database: POSTGRES_SUPERUSER,
			max: 1,
			onnotice: () => {}
		});
		try {
			for (const database of options.databases ?? []) {
				await sql.unsafe(`CREATE DATABASE ${database}`);
			}
			for (const name of options.reportedSettings ?? []) {
				const [row] = await sql.unsafe(`SHOW ${name}`);
				reported[name] = Object.values(row)[0];
			}
		} catch (err) {
			await sql.end({ timeout: 5 });
			await stop();
			throw new Error(`Preparing the server failed: ${describeError(err)}`);
		}
		await sql.end({ timeout: 5 });
	}

	return {
		host: "127.0.0.1",
		port,
		user: POSTGRES_SUPERUSER,
		password: options.password,
		database: POSTGRES_SUPERUSER,
		postmasterPid,
		dir,
		settings: reported,
		ca,
		restart: async () => {
			await pg("pg_ctl", ["-D", dataDir, "-l", logFile, "-m", "fast", "-w", "restart"]);
		},
		stop,
		stopSync
	};
}
