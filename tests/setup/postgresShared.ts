// What the test files and the global setup (tests/setup/sharedPostgres.ts) share about PostgreSQL,
// without importing vitest (the global setup runs outside the test workers): the shipped table, the
// test servers' settings and the shared server's details.
import postgres from "postgres";
import { FAST_SETTINGS } from "../../scripts/servers/postgres.mjs";

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
 * The settings of a test server: fast rather than durable. The shared server has room for the
 * files that run at the same time, a server of one file for that file.
 */
export const TEST_SETTINGS = { ...FAST_SETTINGS, max_connections: "50" };

/**
 * The shared server's details, provided by the global setup (tests/setup/sharedPostgres.ts).
 */
export interface ISharedPostgres {
	/**
	 * Loopback host.
	 */
	host: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The superuser (trust authentication).
	 */
	user: string;

	/**
	 * The database holding the shipped table, from which each file's database is made.
	 */
	template: string;
}

declare module "vitest" {
	export interface ProvidedContext {
		/**
		 * The shared PostgreSQL server, when a project of the run needs it.
		 */
		sharedPostgres: ISharedPostgres | undefined;
	}
}

/**
 * A client of the shared server as its superuser.
 * @param shared The shared server.
 * @param database The database.
 * @returns The client (one connection).
 */
export function sharedAdmin(shared: ISharedPostgres, database: string): postgres.Sql {
	return postgres({
		host: shared.host,
		port: shared.port,
		user: shared.user,
		database,
		max: 1,
		onnotice: () => {}
	});
}
