// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Our connector's entity-storage path over TWIN's PostgreSqlEntityStorageConnector
// (@twin.org/entity-storage-connector-postgresql), registered as docs/storage-backends.md shows,
// on a fresh table per run created from docs/background-task.postgresql.sql (dropped at the end),
// in the server's default database (the TWIN connector ignores config.database). A CountingStorage
// wrapper counts the storage calls per task.
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import { EntityStorageConnectorFactory } from "@twin.org/entity-storage-models";
import { EntityStorageBackgroundTaskConnector } from "../../../dist/esm/index.js";
import { CountingStorage } from "../countingStorage.mjs";
import "./common.mjs";
import { adminSql, benchPostgres, createTaskTable, uniqueName } from "./pgCommon.mjs";

let registrations = 0;

/**
 * The entity-storage backend of the PostgreSQL jobs (see pgConnectorJobs.mjs).
 */
export const entityStorageBackend = {
	name: "entity-storage over PostgreSqlEntityStorageConnector",

	/**
	 * A connector over a fresh table.
	 * @param {object} config The connector config.
	 * @returns {Promise<{ connector: EntityStorageBackgroundTaskConnector, sql: import("postgres").Sql, table: string, storage: CountingStorage, close: () => Promise<void> }>}
	 *   The connector, an admin client on the table's database, the table, the counting wrapper;
	 *   close() (after the connector stopped) closes the TWIN connector's pool and drops the table.
	 */
	async open(config) {
		const server = benchPostgres();
		const table = uniqueName("bg_es");
		const sql = adminSql(server);
		await createTaskTable(sql, table);
		const postgresStorage = new PostgreSqlEntityStorageConnector({
			entitySchema: "BackgroundTask",
			config: {
				host: server.host,
				port: server.port,
				user: server.user,
				password: server.password,
				database: server.database,
				tableName: table
			}
		});
		// Its pool is created on the first call, without a guard against concurrent first calls:
		// one call now, so the measured runs use one pool (and it can be closed at the end).
		await postgresStorage.get("0".repeat(32));
		const storage = new CountingStorage(postgresStorage);
		const storageType = `bench-pg-background-task-${++registrations}`;
		EntityStorageConnectorFactory.register(storageType, () => storage);
		const connector = new EntityStorageBackgroundTaskConnector({
			backgroundTaskEntityStorageType: storageType,
			config
		});
		return {
			connector,
			sql,
			table,
			storage,
			close: async () => {
				// The TWIN connector never closes its pool (docs/storage-backends.md); its private
				// field is the only handle, and the child must exit on its own.
				await postgresStorage._connection?.end({ timeout: 5 });
				await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
				await sql.end({ timeout: 5 });
			}
		};
	}
};
