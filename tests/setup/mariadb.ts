// A throw-away MariaDB server for the MySQL storage contract suite: the launcher shared with the
// benchmark (scripts/servers/mariadb.mjs: the machine's own binaries, a fresh temporary data
// directory, a free loopback port, the test user and database, the background task table created
// from the shipped definition, everything stopped and removed afterwards), wrapped in a vitest
// hook, with connectors whose connections are closed before the server stops.
//
// When the server cannot start, startMariaDb() throws with the reason (and the server log): the
// suite fails, it is never skipped. scripts/ensure-mariadb.sh installs the binaries on Debian.
import { MySqlEntityStorageConnector } from "@twin.org/entity-storage-connector-mysql";
// The MySQL connector's own driver (installed with it).
import type { Connection } from "mysql2/promise";
import { afterAll } from "vitest";
import {
	createMySqlTable,
	findMariaDbBinaries,
	MYSQL_TABLE_NAME,
	MYSQL_TABLE_SQL_FILE,
	mySqlConfig,
	startMariaDb as startServer,
	type IMariaDb,
	type IMariaDbBinaries
} from "../../scripts/servers/mariadb.mjs";
import type { BackgroundTask } from "../../src/index.js";

export { findMariaDbBinaries, MYSQL_TABLE_NAME, MYSQL_TABLE_SQL_FILE, type IMariaDbBinaries };

/**
 * A running throw-away server (its test database holds the shipped table).
 */
export type ITestMariaDb = IMariaDb;

/**
 * Start a throw-away server, fast rather than durable (no flush at commit).
 * @returns The running server.
 */
export async function startMariaDb(): Promise<ITestMariaDb> {
	return startServer();
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
		config: mySqlConfig(server, tableName)
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
	await createMySqlTable(server.sql, tableName);
	return mySqlConnector(server, tableName);
}
