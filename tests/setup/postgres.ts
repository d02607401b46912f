// PostgreSQL for the tests, from the launcher shared with the benchmark and the demo
// (scripts/servers/postgres.mjs). One server serves the whole run (tests/setup/sharedPostgres.ts
// starts it in vitest's global setup, with a template database holding the shipped table), and
// each spec file gets a database of its own made from that template, with a user of the same name
// whose default database it is: TWIN's PostgreSQL connector ignores config.database and connects
// to the user's default database, so the file's user is what keeps its connectors in its database.
// A file that restarts its server, or needs TLS or a password, gets a server of its own (fast
// rather than durable, with the table created from the shipped definition).
//
// When the server cannot start, the tests that need it fail with the reason (and the server log):
// the suite is never skipped. scripts/ensure-postgres.sh installs the binaries on Debian.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { afterAll, inject } from "vitest";
import {
	POSTGRES_SUPERUSER,
	startPostgres as startServer
} from "../../scripts/servers/postgres.mjs";
import {
	MIGRATE_SQL_FILE,
	sharedAdmin,
	TABLE_NAME,
	TABLE_SQL_FILE,
	TEST_SETTINGS,
	type ISharedPostgres
} from "./postgresShared.js";

export { MIGRATE_SQL_FILE, TABLE_NAME, TABLE_SQL_FILE, TEST_SETTINGS, type ISharedPostgres };

/**
 * A running server, or a spec file's database on the shared one.
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
	 * The user (trust authentication: any password works), a superuser.
	 */
	user: string;

	/**
	 * The database the user connects to by default.
	 */
	database: string;

	/**
	 * An admin client on that database for set-up and inspection; ended by stop().
	 */
	sql: postgres.Sql;

	/**
	 * Stop the server and remove its directory (a database on the shared server: drop it).
	 */
	stop: () => Promise<void>;

	/**
	 * Restart the server on the same port (fast shutdown: every connection is dropped), as an
	 * outage. Clients reconnect on their next query. Only on a server of the file's own.
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
 * Options of a test server; without any, the file gets a database on the shared server.
 */
export interface ITestPostgresOptions {
	/**
	 * A server of the file's own, which it may restart.
	 */
	dedicated?: boolean;

	/**
	 * Serve TLS (ssl=on) with a self-signed certificate for CN=localhost, IP 127.0.0.1 (a server
	 * of the file's own).
	 */
	ssl?: boolean;

	/**
	 * Require this password of the superuser on TCP connections, scram-sha-256 (a server of the
	 * file's own).
	 */
	password?: string;

	/**
	 * Server settings over the test settings (a server of the file's own).
	 */
	settings?: Record<string, string>;
}

/**
 * The message of a failure, with a child's output.
 * @param err The error.
 * @returns The message.
 */
function describe(err: unknown): string {
	const e = err as { message?: string; stdout?: string };
	return [e.message, e.stdout].filter(s => s && s.trim().length > 0).join("\n");
}

/**
 * Start a throw-away server of its own and create the background task table from the shipped
 * definition.
 * @param options TLS and password authentication, both off by default.
 * @returns The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startPostgres(options: ITestPostgresOptions = {}): Promise<ITestPostgres> {
	const server = await startServer({
		settings: { ...TEST_SETTINGS, ...options.settings },
		ssl: options.ssl,
		password: options.password
	});
	const sql = postgres({
		host: server.host,
		port: server.port,
		user: server.user,
		password: options.password,
		database: server.database,
		max: 2,
		onnotice: () => {}
	});
	try {
		await sql.unsafe(readFileSync(TABLE_SQL_FILE, "utf8"));
	} catch (err) {
		await sql.end({ timeout: 5 });
		await server.stop();
		throw new Error(`Creating the table from ${TABLE_SQL_FILE.pathname} failed: ${describe(err)}`);
	}
	return {
		host: server.host,
		port: server.port,
		user: server.user,
		database: server.database,
		sql,
		restart: server.restart,
		ca: server.ca,
		password: options.password,
		stop: async () => {
			await sql.end({ timeout: 5 });
			await server.stop();
		}
	};
}

/**
 * A database of its own on the shared server, made from the template (so it holds the shipped
 * table), owned by a superuser of the same name whose default database it is.
 * @param shared The shared server.
 * @returns The database, as a server; stop() drops it and its user.
 */
async function fileDatabase(shared: ISharedPostgres): Promise<ITestPostgres> {
	// As long as "postgres", the name of the superuser and its database on a server of its own:
	// the startup message a client sends is then the size the connection-loss tests count on.
	const name = `f_${randomBytes(3).toString("hex")}`;
	const admin = sharedAdmin(shared, POSTGRES_SUPERUSER);
	try {
		await admin.unsafe(`CREATE ROLE "${name}" SUPERUSER LOGIN`);
		await admin.unsafe(`CREATE DATABASE "${name}" OWNER "${name}" TEMPLATE "${shared.template}"`);
	} catch (err) {
		await admin.end({ timeout: 5 });
		throw new Error(
			`Creating the database ${name} on the shared server ${shared.host}:${shared.port} failed: ${describe(err)}`
		);
	}
	const sql = postgres({
		host: shared.host,
		port: shared.port,
		user: name,
		database: name,
		max: 2,
		onnotice: () => {}
	});
	return {
		host: shared.host,
		port: shared.port,
		user: name,
		database: name,
		sql,
		restart: async () => {
			throw new Error("The shared server is not restarted: use usePostgres({ dedicated: true })");
		},
		stop: async () => {
			await sql.end({ timeout: 5 });
			try {
				// Connections a test left open are ended with the database.
				await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
				await admin.unsafe(`DROP ROLE IF EXISTS "${name}"`);
			} finally {
				await admin.end({ timeout: 5 });
			}
		}
	};
}

/**
 * The PostgreSQL of one spec file, made by the first test that needs it and removed after the
 * file: a database on the shared server, or a server of the file's own when the options ask for
 * one (or when the run has no shared server, as when a file runs outside its project). A server
 * that cannot start fails every test that needs it, with the reason (a failed beforeAll would only
 * mark the tests skipped).
 * @param options A server of the file's own, TLS and password authentication; none by default.
 * @returns A function returning the running server.
 */
export function usePostgres(options: ITestPostgresOptions = {}): () => Promise<ITestPostgres> {
	let server: Promise<ITestPostgres> | undefined;
	afterAll(async () => {
		const running = await server?.catch(() => undefined);
		await running?.stop();
	});
	const own =
		options.dedicated === true ||
		options.ssl === true ||
		options.password !== undefined ||
		options.settings !== undefined;
	return async () => {
		const shared = own ? undefined : inject("sharedPostgres");
		server ??= shared ? fileDatabase(shared) : startPostgres(options);
		return server;
	};
}
