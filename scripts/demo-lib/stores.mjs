// The demo's embedded storage: in-memory, a file store in a directory, or a PostgreSQL table created
// from the shipped definition (docs/background-task.postgresql.sql).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FileEntityStorageConnector } from "@twin.org/entity-storage-connector-file";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";

/**
 * The shipped table definition.
 */
const TABLE_SQL = new URL("../../docs/background-task.postgresql.sql", import.meta.url);

/**
 * @typedef {object} IDemoStore
 * @property {object} storage The entity storage connector for background tasks.
 * @property {string} label How to name the store in the output.
 * @property {boolean} durable Whether tasks outlive the process.
 * @property {string[]} notes Lines to print about the store.
 */

/**
 * Open the store named by the options.
 * @param {{ store: string, dir: string, table: string }} options The demo options.
 * @param {import("./server.mjs").IDemoServer} [server] The PostgreSQL server, for --store postgres.
 * @returns {Promise<IDemoStore>} The storage connector and how to describe it.
 */
export async function openStore(options, server) {
	if (options.store === "file") {
		const directory = resolve(options.dir);
		const storage = new FileEntityStorageConnector({
			entitySchema: "BackgroundTask",
			config: { directory }
		});
		if (!(await storage.bootstrap())) {
			throw new Error(`Cannot create the file store directory ${directory}`);
		}
		return {
			storage,
			label: `file (${directory})`,
			durable: true,
			notes: [
				"The file connector rewrites its whole JSON file on every write (and the background task",
				"connector serialises its calls), so it suits hundreds of tasks, not thousands."
			]
		};
	}
	if (options.store === "postgres") {
		return openPostgres(server, options.table);
	}
	return {
		storage: new MemoryEntityStorageConnector({ entitySchema: "BackgroundTask" }),
		label: "memory",
		durable: false,
		notes: []
	};
}

/**
 * Connect to PostgreSQL and create the table from the shipped definition when it is missing.
 * @param {import("./server.mjs").IDemoServer} server The server.
 * @param {string} table The table name.
 * @returns {Promise<IDemoStore>} The store.
 */
async function openPostgres(server, table) {
	const { PostgreSqlEntityStorageConnector } = await import(
		"@twin.org/entity-storage-connector-postgresql"
	);
	// postgres.js is the PostgreSQL connector's own client (a dependency of it); the demo uses it only
	// to create the table with the right column types.
	const { default: postgres } = await import("postgres");
	const { host, port, user, password } = server;
	const requested = server.own ? "" : server.database;
	const notes = [...server.notes];
	if (requested !== "" && requested !== user) {
		notes.push(
			`The PostgreSQL connector ignores the database in the URL ('${requested}') and uses the user's`,
			`default database ('${user}'): the table is created there.`
		);
	}

	// Same connection settings as the connector (no database: the user's default one).
	const sql = postgres({
		host,
		port,
		user,
		password,
		max: 1,
		onnotice: () => {},
		connect_timeout: 10
	});
	try {
		const ddl = readFileSync(TABLE_SQL, "utf8").replaceAll("background_task", table);
		await sql.unsafe(ddl);
	} catch (err) {
		throw new Error(
			`Cannot prepare the table '${table}' on ${host}:${port} as '${user}': ${err.message}`
		);
	} finally {
		await sql.end({ timeout: 5 });
	}

	const storage = new PostgreSqlEntityStorageConnector({
		entitySchema: "BackgroundTask",
		config: {
			host,
			port,
			user,
			// The connector requires a non-empty password even when the server trusts the user.
			password: password === "" ? "unused" : password,
			database: requested === "" ? user : requested,
			tableName: table
		}
	});
	return {
		storage,
		label: `postgres (${host}:${port}, table ${table})`,
		durable: true,
		notes
	};
}
