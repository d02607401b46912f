// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Our connector's native PostgreSQL backend (issue 10), selected by `config.postgresql`
// ({ host, port, user, password, database, tableName, ssl?, maxConnections?, leaseTimeout?,
// heartbeatInterval?, localQueueSize? }), with no entity-storage registration, on the shared server
// in its own database (bench_native) and a fresh table per run (the backend creates it at start();
// dropped at the end).
//
// Until the built package (dist/esm) has the backend, every job using it reports "not available"
// instead of failing: constructing the connector with config.postgresql and no storage registered
// either throws storageNotRegistered (the field is ignored: no backend) or a ValidationError on
// config.postgresql itself (the field is rejected as unknown). A ValidationError on a field INSIDE
// config.postgresql is a real failure (this file and the backend disagree on the shape) and fails
// the job with the message.
import { EntityStorageBackgroundTaskConnector } from "../../../dist/esm/index.js";
import { NODE } from "./common.mjs";
import { adminSql, benchPostgres, perTaskCounters, uniqueName } from "./pgCommon.mjs";
import { STAMP_HOOK } from "./pgHandlers.mjs";

/**
 * The handler module of the PostgreSQL jobs.
 */
export const HANDLERS = new URL("./pgHandlers.mjs", import.meta.url).href;

/**
 * The config.postgresql of a run on the benchmark server.
 * @param {ReturnType<typeof benchPostgres>} server The server.
 * @param {string} tableName The table.
 * @param {Record<string, unknown>} [extra] More fields (leaseTimeout, localQueueSize...).
 * @returns {Record<string, unknown>} The config.
 */
export function nativeConfig(server, tableName, extra = {}) {
	return {
		host: server.host,
		port: server.port,
		user: server.user,
		password: server.password,
		database: server.databases.native,
		tableName,
		...extra
	};
}

/**
 * Construct a connector on the native backend, or say why the built package has none.
 * @param {object} config The connector config without postgresql.
 * @param {Record<string, unknown>} postgresql config.postgresql.
 * @returns {{ connector?: EntityStorageBackgroundTaskConnector, notAvailable?: string }} The
 *   connector, or the reason it is not available.
 */
export function constructNative(config, postgresql) {
	try {
		return {
			connector: new EntityStorageBackgroundTaskConnector({ config: { ...config, postgresql } })
		};
	} catch (err) {
		const text = `${err?.name}: ${err?.message}`;
		if (String(err?.message).includes("storageNotRegistered")) {
			return {
				notAvailable: `the built package ignores config.postgresql (the constructor looked for an entity-storage registration: ${text})`
			};
		}
		const failures = err?.properties?.validationFailures;
		if (
			err?.name === "ValidationError" &&
			Array.isArray(failures) &&
			failures.some(f => f.property === "config.postgresql")
		) {
			return {
				notAvailable: `the built package rejects config.postgresql (${failures.map(f => `${f.property}: ${f.reason}`).join("; ")})`
			};
		}
		throw err;
	}
}

/**
 * The native backend of the PostgreSQL jobs (see pgConnectorJobs.mjs).
 */
export const nativeBackend = {
	name: "native PostgreSQL backend",

	/**
	 * A connector on a fresh table, or why there is none.
	 * @param {object} config The connector config (without postgresql).
	 * @param {Record<string, unknown>} [postgresqlExtra] More config.postgresql fields.
	 * @returns {Promise<{ notAvailable: string } | { connector: EntityStorageBackgroundTaskConnector, sql: import("postgres").Sql, table: string, close: () => Promise<void> }>}
	 *   The connector, an admin client on its database and the table; close() (after the connector
	 *   stopped) drops the table.
	 */
	async open(config, postgresqlExtra = {}) {
		const server = benchPostgres();
		const table = uniqueName("bg_native");
		const { connector, notAvailable } = constructNative(
			config,
			nativeConfig(server, table, postgresqlExtra)
		);
		if (notAvailable) {
			return { notAvailable };
		}
		const sql = adminSql(server, server.databases.native);
		return {
			connector,
			sql,
			table,
			close: async () => {
				await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
				await sql.end({ timeout: 5 });
			}
		};
	}
};

/**
 * The native side of a node process (pgNode.mjs): a started connector (inline mode) on the
 * coordinator's table; `stamp` registered at once (latency: an idle node), `sleep` on go (scaling).
 * @param {{ table: string, concurrency: number, role: "latency" | "scaling", n: number, nodeIndex: number }} options
 *   The table, the concurrency, the role, the number of tasks and this node's index.
 * @param {{ onRan: (i: number) => void, onStamp: (i: number, at: number) => void }} hooks Hooks:
 *   onRan is called on each success (the progress), onStamp by the stamp handler.
 * @returns {Promise<{ go: () => Promise<void>, stop: () => Promise<void>, counts: () => ArrayLike<number> }>}
 *   The node, started.
 */
export async function nativeNode(options, hooks) {
	const server = benchPostgres();
	const counters = perTaskCounters(options.n);
	const { connector, notAvailable } = constructNative(
		{ executionMode: "inline", concurrency: options.concurrency },
		nativeConfig(server, options.table)
	);
	if (notAvailable) {
		throw new Error(`native backend not available: ${notAvailable}`);
	}
	const identity = `${NODE}-${options.nodeIndex}`;
	const onState = async task => {
		if (task.status === "success") {
			hooks.onRan(task.payload?.i);
		}
	};
	globalThis[STAMP_HOOK] = hooks.onStamp;
	await connector.start(identity);
	if (options.role === "latency") {
		await connector.registerHandler("stamp", HANDLERS, "stamp", onState);
	}
	return {
		go: async () => {
			if (options.role === "scaling") {
				await connector.registerHandler("sleep", HANDLERS, "sleep", onState);
			}
		},
		stop: () => connector.stop(identity),
		counts: () => counters
	};
}
