// The native backend's configuration and connections: validation naming each bad field, clear
// errors for a refused or failed connection that never carry the password, TLS with a
// certificate the test setup makes, and password authentication.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { BaseError, type IValidationFailure } from "@twin.org/core";
import { describe, expect, test } from "vitest";
import type { IPostgreSqlBackendConfig } from "../../src/models/IPostgreSqlBackendConfig.js";
import { resolvePostgresConfig, validatePostgresConfig } from "../../src/config/postgresConfig.js";
import { PostgresTaskSource } from "../../src/store/postgresql/postgresTaskSource.js";
import { usePostgres, type ITestPostgres } from "../setup/postgres.js";

const PASSWORD = "s3cret-Pa55word-for-tests";
const postgresServer = usePostgres({ ssl: true, password: PASSWORD });

/**
 * A config for the test server.
 * @param server The server.
 * @param overrides Fields to change.
 * @returns The config.
 */
function configFor(
	server: ITestPostgres,
	overrides: Partial<IPostgreSqlBackendConfig> = {}
): IPostgreSqlBackendConfig {
	return {
		host: server.host,
		port: server.port,
		user: server.user,
		password: PASSWORD,
		database: server.database,
		tableName: "connection_task",
		...overrides
	};
}

/**
 * The error opening a source with the config rejects with, and how long it took.
 * @param config The config.
 * @param connectTimeout Seconds to wait for a connection.
 * @returns The error and the time.
 */
async function openError(
	config: IPostgreSqlBackendConfig,
	connectTimeout?: number
): Promise<{ error: BaseError; text: string; ms: number }> {
	const source = new PostgresTaskSource(config, undefined, { connectTimeout });
	const started = performance.now();
	try {
		await source.open(() => {});
	} catch (err) {
		const error = BaseError.fromError(err);
		return {
			error,
			text: `${String(err)} ${JSON.stringify(error.toJsonObject())} ${JSON.stringify(err)}`,
			ms: performance.now() - started
		};
	}
	await source.close();
	throw new Error("expected open to fail");
}

/**
 * A TCP port with nothing listening on it.
 * @returns The port.
 */
async function closedPort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
		});
	});
}

describe("configuration", () => {
	test("every bad field is named config.postgresql.<field>; no failure carries a secret", () => {
		const failures: IValidationFailure[] = [];
		validatePostgresConfig(
			{
				host: "",
				port: 70000,
				user: 5,
				password: 12345678,
				database: undefined,
				tableName: "1bad-name",
				ssl: { rejectUnauthorized: "yes", ca: 7, key: { pem: "PRIVATE" } },
				maxConnections: 0,
				leaseTimeout: 999,
				heartbeatInterval: 50,
				localQueueSize: 1.5,
				connectTimeout: 0,
				vacuumEvery: -1
			},
			failures
		);
		expect(failures.map(f => f.property).sort()).toEqual(
			[
				"host",
				"port",
				"user",
				"password",
				"database",
				"tableName",
				"ssl.rejectUnauthorized",
				"ssl.ca",
				"ssl.key",
				"maxConnections",
				"leaseTimeout",
				"heartbeatInterval",
				"localQueueSize",
				"connectTimeout",
				"vacuumEvery"
			]
				.map(f => `config.postgresql.${f}`)
				.sort()
		);
		const text = JSON.stringify(failures);
		expect(text).not.toContain("12345678");
		expect(text).not.toContain("PRIVATE");
	});

	test("table names: an identifier of at most 63 characters", () => {
		const check = (tableName: unknown): string[] => {
			const failures: IValidationFailure[] = [];
			validatePostgresConfig(
				{ host: "h", user: "u", password: "", database: "d", tableName },
				failures
			);
			return failures.map(f => f.property);
		};
		for (const good of ["background_task", "_t", "T1", "a".repeat(63)]) {
			expect(check(good)).toEqual([]);
		}
		for (const bad of ['x"; DROP TABLE y; --', "a b", "9lives", "a".repeat(64), "", "sch.tbl", 7]) {
			expect(check(bad)).toEqual(["config.postgresql.tableName"]);
		}
	});

	test("heartbeatInterval must be below leaseTimeout; defaults apply", () => {
		const failures: IValidationFailure[] = [];
		validatePostgresConfig(
			{
				host: "h",
				user: "u",
				password: "p",
				database: "d",
				tableName: "t",
				leaseTimeout: 2000,
				heartbeatInterval: 2000
			},
			failures
		);
		expect(failures.map(f => f.property)).toEqual(["config.postgresql.heartbeatInterval"]);
		expect(
			resolvePostgresConfig({ host: "h", user: "u", password: "p", database: "d", tableName: "t" })
		).toEqual({
			host: "h",
			port: 5432,
			user: "u",
			password: "p",
			database: "d",
			tableName: "t",
			ssl: undefined,
			maxConnections: 10,
			leaseTimeout: 30000,
			heartbeatInterval: 10000,
			localQueueSize: 500,
			connectTimeout: 10,
			vacuumEvery: 2000
		});
	});

	test("the constructor rejects a bad config with a validation error that holds no password", () => {
		let error: unknown;
		try {
			new PostgresTaskSource({
				host: "h",
				user: "u",
				password: PASSWORD,
				database: "d",
				tableName: "bad name"
			});
		} catch (err) {
			error = err;
		}
		expect(BaseError.fromError(error).name).toBe("ValidationError");
		expect(JSON.stringify(BaseError.fromError(error).toJsonObject())).toContain(
			"config.postgresql.tableName"
		);
		expect(JSON.stringify(BaseError.fromError(error).toJsonObject())).not.toContain(PASSWORD);
	});
});

test("every message key the backend logs or throws is in locales/en.json under its level", () => {
	const locales = JSON.parse(
		readFileSync(new URL("../../locales/en.json", import.meta.url), "utf8")
	);
	const dir = new URL("../../src/store/postgresql/", import.meta.url);
	const keys: string[] = [];
	// The backend's files, its sql/ folder included.
	const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(f =>
		f.endsWith(".ts")
	);
	for (const file of files) {
		const text = readFileSync(new URL(file, dir), "utf8");
		for (const [, level, key] of text.matchAll(/log\?\.log\(\s*"(\w+)",\s*"(\w+)"/g)) {
			keys.push(`${level}.${key}`);
		}
		for (const [, key] of text.matchAll(/new GeneralError\(\s*[\w.]+,\s*"(\w+)"/g)) {
			keys.push(`error.${key}`);
		}
		for (const [, key] of text.matchAll(/connectionError\(\s*[\w.]+,\s*"(\w+)"/g)) {
			keys.push(`error.${key}`);
		}
	}
	expect(keys.length).toBeGreaterThan(8);
	for (const key of keys) {
		const [level, message] = key.split(".");
		expect(locales[level]?.postgresTaskSource?.[message], key).toBeTypeOf("string");
	}
});

describe("connection errors", () => {
	test("a refused connection fails at once, naming host, port, user and database, not the password", async () => {
		const server = await postgresServer();
		const port = await closedPort();
		const { error, text, ms } = await openError(configFor(server, { port }));
		expect(ms).toBeLessThan(2000);
		expect(error.message).toBe("postgresTaskSource.connectFailed");
		expect(error.properties).toMatchObject({
			host: "127.0.0.1",
			port,
			user: server.user,
			database: server.database
		});
		expect(String(error.properties?.reason)).toContain("ECONNREFUSED");
		expect(text).not.toContain(PASSWORD);
	});

	test("a server that accepts and never answers gives an error after config connectTimeout, not a hang", async () => {
		const server = await postgresServer();
		const sockets: Socket[] = [];
		const silent = createServer(socket => {
			sockets.push(socket);
		});
		await new Promise<void>(resolve => silent.listen(0, "127.0.0.1", resolve));
		const address = silent.address();
		const port = typeof address === "object" && address ? address.port : 0;
		try {
			const { error, text, ms } = await openError(configFor(server, { port, connectTimeout: 1 }));
			expect(ms).toBeGreaterThanOrEqual(900);
			expect(ms).toBeLessThan(5000);
			expect(error.properties).toMatchObject({ host: "127.0.0.1", port, user: server.user });
			expect(String(error.properties?.reason)).toContain("CONNECT_TIMEOUT");
			expect(text).not.toContain(PASSWORD);
		} finally {
			for (const socket of sockets) {
				socket.destroy();
			}
			await new Promise(resolve => silent.close(resolve));
		}
	});

	test("a wrong password fails with the server's reason and without either password", async () => {
		const server = await postgresServer();
		const wrong = "Wr0ng-password-attempt";
		const { error, text } = await openError(configFor(server, { password: wrong }));
		expect(error.message).toBe("postgresTaskSource.connectFailed");
		expect(String(error.properties?.reason)).toContain("password authentication failed");
		expect(text).not.toContain(wrong);
		expect(text).not.toContain(PASSWORD);
	});

	test("a database that does not exist is named in the error", async () => {
		const server = await postgresServer();
		const { error, text } = await openError(configFor(server, { database: "no_such_db" }));
		expect(error.properties).toMatchObject({ database: "no_such_db" });
		expect(String(error.properties?.reason)).toContain('database "no_such_db" does not exist');
		expect(text).not.toContain(PASSWORD);
	});

	test("the database is honoured: the table is made in the configured database", async () => {
		const server = await postgresServer();
		await server.sql.unsafe("CREATE DATABASE native_other");
		const source = new PostgresTaskSource(configFor(server, { database: "native_other" }));
		await source.open(() => {});
		await source.close();
		const here = await server.sql.unsafe(
			"SELECT count(*)::int AS count FROM information_schema.tables WHERE table_name = 'connection_task'"
		);
		expect(here[0].count).toBe(0);
	});
});

describe("TLS", () => {
	test("ssl with the server's certificate as CA connects, verified", async () => {
		const server = await postgresServer();
		expect(server.ca).toContain("BEGIN CERTIFICATE");
		const source = new PostgresTaskSource(
			configFor(server, { ssl: { ca: server.ca, rejectUnauthorized: true } })
		);
		await source.open(() => {});
		try {
			const rows = await server.sql.unsafe(
				"SELECT count(*)::int AS count FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND application_name = 'twin-background-task'"
			);
			// The pool's connection and the LISTEN connection.
			expect(rows[0].count).toBeGreaterThanOrEqual(2);
		} finally {
			await source.close();
		}
	});

	test("ssl: true against a self-signed certificate fails with a clear error", async () => {
		const server = await postgresServer();
		const { error, text } = await openError(configFor(server, { ssl: true }));
		expect(error.message).toBe("postgresTaskSource.connectFailed");
		expect(String(error.properties?.reason)).toMatch(/self.signed certificate/);
		expect(text).not.toContain(PASSWORD);
	});
});
