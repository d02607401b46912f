// The storage contract on the native PostgreSQL backend (config.postgresql) against a real server
// (tests/setup/postgres.ts). The connector under test talks SQL to the table itself; the tests'
// direct reads and writes go through TWIN's PostgreSqlEntityStorageConnector on the same table,
// which also proves the two paths read the same rows. Leases are short, so a task interrupted
// while processing is recovered within about a second.
import { readFileSync } from "node:fs";
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import { beforeEach } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { usePostgres, type ITestPostgres } from "../setup/postgres.js";
import { queueContract } from "./queueContract.js";
import { storageContract, type IStorageBackend } from "./storageContract.js";

const NATIVE_SQL = new URL("../../docs/background-task.postgresql-native.sql", import.meta.url);
const TABLE = "native_contract";

const postgresServer = usePostgres();
let server: ITestPostgres | undefined;
let shared: PostgreSqlEntityStorageConnector<BackgroundTask> | undefined;
let created = false;

beforeEach(async () => {
	server = await postgresServer();
}, 90000);

/**
 * The running server.
 * @returns The server.
 */
function pg(): ITestPostgres {
	if (!server) {
		throw new Error("PostgreSQL server not started");
	}
	return server;
}

const BACKEND: IStorageBackend = {
	fresh: async () => {
		if (!created) {
			// The shipped definition, under this suite's table name.
			await pg().sql.unsafe(readFileSync(NATIVE_SQL, "utf8").replaceAll("background_task", TABLE));
			created = true;
		}
		await pg().sql.unsafe(`TRUNCATE ${TABLE}, ${TABLE}_paused, ${TABLE}_schedules`);
		shared ??= new PostgreSqlEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask",
			config: {
				host: pg().host,
				port: pg().port,
				user: pg().user,
				password: "trust",
				database: pg().database,
				tableName: TABLE
			}
		});
		return shared;
	},
	config: () => ({
		pollInterval: 200,
		postgresql: {
			host: pg().host,
			port: pg().port,
			user: pg().user,
			password: "trust",
			database: pg().database,
			tableName: TABLE,
			maxConnections: 4,
			leaseTimeout: 1000,
			heartbeatInterval: 300
		}
	})
};

storageContract("native postgresql", BACKEND);
queueContract("native postgresql", BACKEND);
