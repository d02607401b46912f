// A throw-away MariaDB server for the MySQL storage contract suite, from the machine's own binaries:
// mariadb-install-db into a fresh temporary directory, mariadbd on a free loopback port (its unix
// socket in the same directory; as the mysql user when this process is root), a user with a
// password and the test database made by its init file, the background task table created from
// the shipped definition, and everything stopped and removed afterwards.
//
// When the server cannot start, startMariaDb() throws with the reason (and the server log): the
// suite fails, it is never skipped. scripts/ensure-mariadb.sh installs the binaries on Debian.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { MySqlEntityStorageConnector } from "@twin.org/entity-storage-connector-mysql";
// The MySQL connector's own driver (installed with it).
import { createConnection, type Connection } from "mysql2/promise";
import { afterAll } from "vitest";
import type { BackgroundTask } from "../../src/index.js";

const run = promisify(execFile);

/**
 * The shipped table definition (docs/background-task.mysql.sql); the suite runs on a table made
 * from exactly this text.
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
 * The test user and database its init file creates.
 */
const USER = "twin";
const PASSWORD = "twin-test-password";
const DATABASE = "twin_test";

/**
 * The binaries of a MariaDB installation.
 */
export interface IMariaDbBinaries {
	/**
	 * The server.
	 */
	mariadbd: string;

	/**
	 * The data directory initialiser.
	 */
	installDb: string;
}

/**
 * A running throw-away server.
 */
export interface ITestMariaDb {
	/**
	 * Loopback host.
	 */
	host: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The user, with every privilege.
	 */
	user: string;

	/**
	 * Its password.
	 */
	password: string;

	/**
	 * The test database, holding the shipped table.
	 */
	database: string;

	/**
	 * An admin connection (multiple statements allowed) for set-up and inspection; ended by stop().
	 */
	sql: Connection;

	/**
	 * Seconds from the start to a connection on the new server: the data directory, then the
	 * server.
	 */
	startSeconds: { install: number; server: number };

	/**
	 * Stop the server and remove its directory.
	 */
	stop: () => Promise<void>;
}

/**
 * Find mariadbd and mariadb-install-db: $MARIADB_BIN, then /usr/sbin, /usr/bin and the PATH
 * (Debian has the server in /usr/sbin, the initialiser in /usr/bin).
 * @returns The binaries, or undefined when they are not installed.
 */
export function findMariaDbBinaries(): IMariaDbBinaries | undefined {
	const dirs = [
		...(process.env.MARIADB_BIN ? [process.env.MARIADB_BIN] : []),
		"/usr/sbin",
		"/usr/bin",
		"/usr/local/sbin",
		"/usr/local/bin",
		...(process.env.PATH ?? "").split(":").filter(p => p.length > 0)
	];
	const find = (name: string): string | undefined =>
		dirs.map(dir => join(dir, name)).find(path => existsSync(path));
	const mariadbd = find("mariadbd");
	const installDb = find("mariadb-install-db");
	return mariadbd && installDb ? { mariadbd, installDb } : undefined;
}

/**
 * A free TCP port on the loopback interface.
 * @returns The port.
 */
async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() =>
				typeof address === "object" && address
					? resolve(address.port)
					: reject(new Error("no port"))
			);
		});
	});
}

/**
 * The uid and gid of a user, from /etc/passwd.
 * @param user The user name.
 * @returns The ids, or undefined when the user does not exist.
 */
function userIds(user: string): { uid: number; gid: number } | undefined {
	const line = readFileSync("/etc/passwd", "utf8")
		.split("\n")
		.find(l => l.startsWith(`${user}:`));
	if (!line) {
		return undefined;
	}
	const [, , uid, gid] = line.split(":");
	return { uid: Number(uid), gid: Number(gid) };
}

/**
 * The message of a failed child process, with its output.
 * @param err The error.
 * @returns The message.
 */
function describeError(err: unknown): string {
	const e = err as { message?: string; stdout?: string };
	return [e.message, e.stdout].filter(s => s && s.trim().length > 0).join("\n");
}

/**
 * Wait for a child to exit, killing it after a grace period.
 * @param child The child.
 * @param graceMs How long to wait before SIGKILL.
 */
async function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}
	const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
	const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
	await exited;
	clearTimeout(timer);
}

/**
 * Start a throw-away server.
 * @returns The running server.
 */
export async function startMariaDb(): Promise<ITestMariaDb> {
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

	const dir = mkdtempSync(join(tmpdir(), "twin-bg-mariadb-"));
	const remove = (): void => rmSync(dir, { recursive: true, force: true });
	const dataDir = join(dir, "data");
	const logFile = join(dir, "server.log");
	const initFile = join(dir, "init.sql");
	const readLog = (): string =>
		existsSync(logFile) ? readFileSync(logFile, "utf8") : "(no server log)";
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
	}
	const userArgs = asUser ? [`--user=${asUser}`] : [];
	// Small InnoDB files and no durability: a test server starts in a fraction of a second.
	const innodbArgs = [
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=4M",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
		// No io_uring or libaio: container runtimes may forbid them.
		"--innodb-use-native-aio=0"
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
	let child: ChildProcess | undefined;
	let sql: Connection | undefined;
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
		server.stderr?.on("data", (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		let exited: string | undefined;
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
				lastError = (err as Error).message;
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
	// An error on the admin connection (the server stopping) is not the test's failure.
	sql.on("error", () => {});

	const stopServer = async (): Promise<void> => {
		try {
			serverProcess.kill("SIGTERM");
			await waitForExit(serverProcess, 10000);
		} finally {
			remove();
		}
	};

	try {
		await sql.query(readFileSync(MYSQL_TABLE_SQL_FILE, "utf8"));
	} catch (err) {
		await sql.end().catch(() => {});
		await stopServer();
		throw new Error(
			`Creating the table from ${MYSQL_TABLE_SQL_FILE.pathname} failed: ${describeError(err)}`
		);
	}

	const admin = sql;
	return {
		host: "127.0.0.1",
		port,
		user: USER,
		password: PASSWORD,
		database: DATABASE,
		sql: admin,
		startSeconds: { install, server: serverSeconds },
		stop: async () => {
			await admin.end().catch(() => {});
			await stopServer();
		}
	};
}

/**
 * A server shared by the tests of one spec file, started by the first test that needs it and
 * stopped after the file. A server that cannot start fails every test that needs it, with the
 * reason (a failed beforeAll would only mark the tests skipped). Connectors made by
 * mySqlConnector() are closed before the server stops.
 * @returns A function returning the running server.
 */
export function useMariaDb(): () => Promise<ITestMariaDb> {
	let server: Promise<ITestMariaDb> | undefined;
	afterAll(async () => {
		const running = await server?.catch(() => undefined);
		if (running) {
			await closeConnectors(running);
			await running.stop();
		}
	});
	return async () => {
		server ??= startMariaDb();
		return server;
	};
}

/**
 * The connectors made for each server, to close their connections before it stops.
 */
const connectors = new WeakMap<ITestMariaDb, MySqlEntityStorageConnector<BackgroundTask>[]>();

/**
 * Close the connections of the connectors made for a server: the connector opens one connection
 * on first use, keeps it, and has no method to close it.
 * @param server The server.
 */
export async function closeConnectors(server: ITestMariaDb): Promise<void> {
	for (const connector of connectors.get(server)?.splice(0) ?? []) {
		const connection = (connector as unknown as { _connection?: Connection })._connection;
		if (connection) {
			connection.on("error", () => {});
			await connection.end().catch(() => connection.destroy());
		}
	}
}

/**
 * A MySQL storage connector on the test server.
 * @param server The server.
 * @param tableName The table, the shipped one by default.
 * @returns The connector (not bootstrapped: the shipped table exists).
 */
export function mySqlConnector(
	server: ITestMariaDb,
	tableName = MYSQL_TABLE_NAME
): MySqlEntityStorageConnector<BackgroundTask> {
	const connector = new MySqlEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: {
			host: server.host,
			port: server.port,
			user: server.user,
			password: server.password,
			database: server.database,
			tableName
		}
	});
	const list = connectors.get(server) ?? [];
	list.push(connector);
	connectors.set(server, list);
	return connector;
}

/**
 * A MySQL storage connector on a new table made from the shipped definition (the connector's
 * bootstrap would make FLOAT number columns: see docs/background-task.mysql.sql).
 * @param server The server.
 * @param tableName The new table.
 * @returns The connector.
 */
export async function createMySqlStorage(
	server: ITestMariaDb,
	tableName: string
): Promise<MySqlEntityStorageConnector<BackgroundTask>> {
	await server.sql.query(
		readFileSync(MYSQL_TABLE_SQL_FILE, "utf8").replaceAll(MYSQL_TABLE_NAME, tableName)
	);
	return mySqlConnector(server, tableName);
}
