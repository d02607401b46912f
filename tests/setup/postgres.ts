// A throw-away PostgreSQL server for the storage contract suite, from the machine's own binaries:
// initdb into a fresh temporary directory, pg_ctl on a free loopback port (its unix socket in the
// same directory, trust authentication), the background task table created from the shipped
// definition, and everything stopped and removed afterwards.
//
// When the server cannot start, startPostgres() throws with the reason (and the server log): the
// suite fails, it is never skipped. scripts/ensure-postgres.sh installs the binaries on Debian.
import { execFile } from "node:child_process";
import {
	chmodSync,
	chownSync,
	existsSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll } from "vitest";

const run = promisify(execFile);

/**
 * The shipped table definition (docs/background-task.postgresql.sql), the one the docs tell users
 * to create; the suite runs on a table made from exactly this text.
 */
export const TABLE_SQL_FILE = new URL("../../docs/background-task.postgresql.sql", import.meta.url);

/**
 * The shipped fix for a table the connector's bootstrap created.
 */
export const MIGRATE_SQL_FILE = new URL(
	"../../docs/background-task.postgresql-migrate.sql",
	import.meta.url
);

/**
 * The table name used in the shipped definition.
 */
export const TABLE_NAME = "background_task";

/**
 * The superuser initdb creates; its default database ("postgres") exists, which matters because
 * the connector ignores config.database and connects to the user's default database.
 */
const SUPERUSER = "postgres";

/**
 * A running throw-away server.
 */
export interface ITestPostgres {
	/**
	 * Loopback host.
	 */
	host: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The user (trust authentication: any password works).
	 */
	user: string;

	/**
	 * The database the user connects to by default.
	 */
	database: string;

	/**
	 * An admin client for set-up and inspection; ended by stop().
	 */
	sql: postgres.Sql;

	/**
	 * Stop the server and remove its directory.
	 */
	stop: () => Promise<void>;

	/**
	 * Restart the server on the same port (fast shutdown: every connection is dropped), as an
	 * outage. Clients reconnect on their next query.
	 */
	restart: () => Promise<void>;

	/**
	 * With the ssl option: the server's self-signed certificate (PEM), to trust as the CA.
	 */
	ca?: string;

	/**
	 * With the password option: the superuser's password (TCP connections must give it).
	 */
	password?: string;
}

/**
 * Options of a throw-away server; without any, TCP connections use trust authentication and no
 * TLS.
 */
export interface ITestPostgresOptions {
	/**
	 * Serve TLS (ssl=on) with a self-signed certificate for CN=localhost, IP 127.0.0.1, made by
	 * openssl in the server's directory.
	 */
	ssl?: boolean;

	/**
	 * Require this password of the superuser on TCP connections (scram-sha-256).
	 */
	password?: string;
}

/**
 * Find the directory holding initdb and pg_ctl: $PG_BIN, then the newest
 * /usr/lib/postgresql/<version>/bin, then the PATH.
 * @returns The directory, or undefined when the binaries are not installed.
 */
export function findPostgresBin(): string | undefined {
	const candidates: string[] = [];
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
 * Run a PostgreSQL binary, as the unprivileged postgres user when this process is root (initdb
 * and postgres refuse to run as root).
 * @param asUser The user to run as when root, undefined when not root.
 * @param command The binary.
 * @param args The arguments.
 * @returns The output.
 */
async function runPg(
	asUser: string | undefined,
	command: string,
	args: string[]
): Promise<{ stdout: string; stderr: string }> {
	return asUser
		? run("runuser", ["-u", asUser, "--", command, ...args], { timeout: 60000 })
		: run(command, args, { timeout: 60000 });
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
function describe(err: unknown): string {
	// A failed child's message already ends with its stderr.
	const e = err as { message?: string; stdout?: string };
	return [e.message, e.stdout].filter(s => s && s.trim().length > 0).join("\n");
}

/**
 * Make a self-signed certificate and key for the server (CN=localhost, subjectAltName localhost
 * and 127.0.0.1), owned by the server's user with the key readable only by it, as the server
 * requires.
 * @param dir The server's directory.
 * @param asUser The server's user when this process is root.
 * @returns The certificate, PEM.
 */
async function makeCertificate(dir: string, asUser: string | undefined): Promise<string> {
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
 * Start a throw-away server and create the background task table from the shipped definition.
 * @param options TLS and password authentication, both off by default.
 * @returns The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startPostgres(options: ITestPostgresOptions = {}): Promise<ITestPostgres> {
	const bin = findPostgresBin();
	if (!bin) {
		throw new Error(
			"PostgreSQL server binaries (initdb, pg_ctl) not found in $PG_BIN, /usr/lib/postgresql/*/bin " +
				"or the PATH: run scripts/ensure-postgres.sh (installs Debian's postgresql package)"
		);
	}
	const isRoot = process.getuid?.() === 0;
	const asUser = isRoot ? "postgres" : undefined;
	const dir = mkdtempSync(join(tmpdir(), "twin-bg-pg-"));
	const dataDir = join(dir, "data");
	const logFile = join(dir, "server.log");
	const remove = (): void => rmSync(dir, { recursive: true, force: true });

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

	const authArgs = ["--auth=trust"];
	if (options.password !== undefined) {
		const pwFile = join(dir, "password");
		writeFileSync(pwFile, `${options.password}\n`);
		if (asUser) {
			const ids = userIds(asUser);
			chownSync(pwFile, ids?.uid ?? 0, ids?.gid ?? 0);
		}
		authArgs.push("--auth-host=scram-sha-256", `--pwfile=${pwFile}`);
	}
	try {
		await runPg(asUser, join(bin, "initdb"), [
			"-D",
			dataDir,
			"-U",
			SUPERUSER,
			...authArgs,
			"--encoding=UTF8",
			"--no-sync"
		]);
	} catch (err) {
		remove();
		throw new Error(`initdb failed in ${dataDir}: ${describe(err)}`);
	}

	const serverOptions: string[] = [];
	let ca: string | undefined;
	if (options.ssl) {
		try {
			ca = await makeCertificate(dir, asUser);
		} catch (err) {
			remove();
			throw new Error(`Making the test certificate with openssl failed: ${describe(err)}`);
		}
		serverOptions.push(
			"-c ssl=on",
			`-c ssl_cert_file=${join(dir, "server.crt")}`,
			`-c ssl_key_file=${join(dir, "server.key")}`
		);
	}

	let port = 0;
	let started = false;
	let lastError = "";
	// A port found free can be taken before the server binds it: a few attempts, each on a new port.
	for (let attempt = 0; attempt < 3 && !started; attempt++) {
		port = await freePort();
		try {
			await runPg(asUser, join(bin, "pg_ctl"), [
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
					"-c max_connections=50",
					"-c fsync=off",
					"-c synchronous_commit=off",
					"-c full_page_writes=off",
					...serverOptions
				].join(" "),
				"start"
			]);
			started = true;
		} catch (err) {
			const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "(no server log)";
			lastError = `${describe(err)}\n--- server log ---\n${log}`;
		}
	}
	if (!started) {
		remove();
		throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}: ${lastError}`);
	}

	const stopServer = async (): Promise<void> => {
		try {
			await runPg(asUser, join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
		} finally {
			remove();
		}
	};

	const sql = postgres({
		host: "127.0.0.1",
		port,
		user: SUPERUSER,
		password: options.password,
		database: SUPERUSER,
		max: 2,
		onnotice: () => {}
	});
	try {
		await sql.unsafe(readFileSync(TABLE_SQL_FILE, "utf8"));
	} catch (err) {
		await sql.end({ timeout: 5 });
		await stopServer();
		throw new Error(`Creating the table from ${TABLE_SQL_FILE.pathname} failed: ${describe(err)}`);
	}

	return {
		host: "127.0.0.1",
		port,
		user: SUPERUSER,
		database: SUPERUSER,
		sql,
		restart: async () => {
			await runPg(asUser, join(bin, "pg_ctl"), [
				"-D",
				dataDir,
				"-l",
				logFile,
				"-m",
				"fast",
				"-w",
				"restart"
			]);
		},
		ca,
		password: options.password,
		stop: async () => {
			await sql.end({ timeout: 5 });
			await stopServer();
		}
	};
}

/**
 * A server shared by the tests of one spec file, started by the first test that needs it and
 * stopped after the file. A server that cannot start fails every test that needs it, with the
 * reason (a failed beforeAll would only mark the tests skipped).
 * @param options TLS and password authentication, both off by default.
 * @returns A function returning the running server.
 */
export function usePostgres(options?: ITestPostgresOptions): () => Promise<ITestPostgres> {
	let server: Promise<ITestPostgres> | undefined;
	afterAll(async () => {
		const running = await server?.catch(() => undefined);
		await running?.stop();
	});
	return async () => {
		server ??= startPostgres(options);
		return server;
	};
}
