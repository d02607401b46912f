// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Throughput on each store (issue 19, item 5; scenarios in storeScenarios.mjs): ours (the built
// package) or the ORIGINAL package (@twin.org/background-task-connector-entity-storage, the dev
// dependency) over one of TWIN's entity-storage connectors: memory, file, DynamoDB (against the
// dynalite the parent started), MySQL (against its MariaDB) or PostgreSQL (against its server),
// each on a fresh table, directory or store.
//
// What a user runs: a cold connector in a fresh process (no warm-up), the trivial handler
// registered, `n` tasks created one by one through create() (each awaited, retainFor 0) before
// start(), then start(); timed from start() to the last completion, seen at the storage boundary
// (the task's row removed). The counting wrapper (countingStorage.mjs, answering to the inner
// connector's CLASS_NAME so that our package applies that connector's profile) counts every
// set/get/remove/query from the first create to the last completion.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntityStorageConnectorFactory } from "@twin.org/entity-storage-models";
import { dynamoDbConfig } from "../../../scripts/servers/dynalite.mjs";
import { KEYS } from "../../handlers/shared.mjs";
import { CountingStorage } from "../countingStorage.mjs";
import { benchServer } from "../storeServers.mjs";
import { handlerModule, NODE, shareWithWorkers } from "./common.mjs";

/**
 * A name unique to this run (lower case, a valid unquoted identifier in every store).
 * @param {string} prefix The prefix.
 * @returns {string} The name.
 */
function uniqueName(prefix) {
	return `${prefix}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
}

/**
 * Create a connector's table with its own bootstrap.
 * @param {any} inner The connector.
 * @param {string} table The table, for the error.
 * @returns {Promise<void>} Resolves when created.
 */
async function bootstrap(inner, table) {
	// The bootstrap logs its failures (through a logging connector, none here) and returns false.
	if (!(await inner.bootstrap())) {
		throw new Error(`The ${inner.CLASS_NAME} bootstrap of table ${table} failed`);
	}
}

/**
 * Every page of a query without conditions, counted (on the raw connector: not counted).
 * @param {any} inner The connector.
 * @returns {Promise<number>} The stored entities.
 */
async function countAll(inner) {
	let total = 0;
	let cursor;
	do {
		const page = await inner.query(undefined, undefined, undefined, cursor);
		total += page.entities.length;
		cursor = page.cursor;
	} while (cursor);
	return total;
}

/**
 * The stores: open() gives a fresh raw connector, what it is, how many entities it holds and how
 * to close it (the connection, the table or directory dropped). On MySQL and PostgreSQL ours runs
 * on a table made from its shipped definition (docs/background-task.*.sql, as the docs tell users
 * to), the original on the table the TWIN connector's bootstrap makes from the original's schema
 * (the original's users have nothing else; it cannot run on ours: the MySQL connector reads our
 * extra columns back and then refuses to write them, entitySchemaHelper.invalidEntityKeys).
 * @type {Record<string, { open: (impl: string) => Promise<{ inner: any, info: Record<string, unknown>, remaining: () => Promise<number>, close: () => Promise<void> }> }>}
 */
const STORES = {
	memory: {
		async open() {
			const { MemoryEntityStorageConnector } = await import(
				"@twin.org/entity-storage-connector-memory"
			);
			const inner = new MemoryEntityStorageConnector({ entitySchema: "BackgroundTask" });
			return {
				inner,
				info: {},
				remaining: async () => inner.getStore().length,
				close: async () => {}
			};
		}
	},
	file: {
		async open() {
			const { FileEntityStorageConnector } = await import(
				"@twin.org/entity-storage-connector-file"
			);
			const directory = mkdtempSync(join(tmpdir(), "twin-bench-file-"));
			const inner = new FileEntityStorageConnector({
				entitySchema: "BackgroundTask",
				config: { directory }
			});
			await inner.bootstrap();
			return {
				inner,
				info: { directory },
				remaining: async () => {
					try {
						return JSON.parse(readFileSync(join(directory, "store.json"), "utf8")).length;
					} catch {
						return 0;
					}
				},
				close: async () => rmSync(directory, { recursive: true, force: true })
			};
		}
	},
	dynamodb: {
		async open() {
			const server = benchServer("dynalite");
			const { DynamoDbEntityStorageConnector } = await import(
				"@twin.org/entity-storage-connector-dynamodb"
			);
			const table = uniqueName("bench_bg");
			const inner = new DynamoDbEntityStorageConnector({
				entitySchema: "BackgroundTask",
				config: dynamoDbConfig(server, table)
			});
			if (!(await inner.bootstrap())) {
				throw new Error(`The DynamoDB connector's bootstrap of table ${table} failed`);
			}
			return {
				inner,
				info: { table, server: `dynalite ${server.version}` },
				remaining: async () => countAll(inner),
				close: async () => inner.tableDelete()
			};
		}
	},
	mysql: {
		async open(impl) {
			const server = benchServer("mariadb");
			const { MySqlEntityStorageConnector } = await import(
				"@twin.org/entity-storage-connector-mysql"
			);
			const { createConnection } = await import("mysql2/promise");
			const { createMySqlTable, mySqlConfig } = await import(
				"../../../scripts/servers/mariadb.mjs"
			);
			const sql = await createConnection({
				host: server.host,
				port: server.port,
				user: server.user,
				password: server.password,
				database: server.database,
				multipleStatements: true
			});
			const table = uniqueName("bench_bg");
			const inner = new MySqlEntityStorageConnector({
				entitySchema: "BackgroundTask",
				config: mySqlConfig(server, table)
			});
			if (impl === "original") {
				await bootstrap(inner, table);
			} else {
				await createMySqlTable(sql, table);
			}
			return {
				inner,
				info: {
					table,
					tableFrom: impl === "original" ? "bootstrap" : "docs/background-task.mysql.sql",
					server: `MariaDB ${server.settings?.version}`
				},
				remaining: async () => {
					const [rows] = await sql.query(`SELECT COUNT(*) AS c FROM \`${table}\``);
					return Number(rows[0].c);
				},
				close: async () => {
					// The TWIN connector keeps one connection and has no method to close it.
					await inner._connection?.end().catch(() => inner._connection?.destroy());
					await sql.query(`DROP TABLE IF EXISTS \`${table}\``);
					await sql.end();
				}
			};
		}
	},
	postgres: {
		async open(impl) {
			const { adminSql, benchPostgres, createTaskTable } = await import("./pgCommon.mjs");
			const { PostgreSqlEntityStorageConnector } = await import(
				"@twin.org/entity-storage-connector-postgresql"
			);
			const server = benchPostgres();
			const table = uniqueName("bench_bg");
			const sql = adminSql(server);
			const inner = new PostgreSqlEntityStorageConnector({
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
			if (impl === "original") {
				await bootstrap(inner, table);
			} else {
				await createTaskTable(sql, table);
			}
			// Its pool is created on the first call, without a guard against concurrent first calls:
			// one call now (not counted), so every run uses one pool that can be closed at the end.
			await inner.get("0".repeat(32));
			return {
				inner,
				info: {
					table,
					tableFrom: impl === "original" ? "bootstrap" : "docs/background-task.postgresql.sql",
					server: `PostgreSQL ${server.settings?.server_version}`
				},
				remaining: async () => {
					const [row] = await sql.unsafe(`SELECT count(*)::int AS c FROM "${table}"`);
					return row.c;
				},
				close: async () => {
					// The TWIN connector never closes its pool; its private field is the only handle.
					await inner._connection?.end({ timeout: 5 });
					await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
					await sql.end({ timeout: 5 });
				}
			};
		}
	}
};

/**
 * The store names.
 */
export const STORE_NAMES = Object.keys(STORES);

/**
 * Resolve a promise, or reject after a bound with what was reached.
 * @param {Promise<void>} promise The promise.
 * @param {number} ms The bound.
 * @param {() => string} progress What was reached, for the error.
 * @returns {Promise<void>} The outcome.
 */
async function within(promise, ms, progress) {
	let timer;
	try {
		await Promise.race([
			promise,
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${progress()}`)), ms);
			})
		]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * An error in one line: its message, and its inner error's (TWIN's errors wrap the driver's).
 * @param {any} err The error.
 * @returns {string} The description.
 */
function describeFailure(err) {
	const json = typeof err?.toJsonObject === "function" ? err.toJsonObject() : undefined;
	const inner = json?.inner?.message;
	return `${err?.message ?? String(err)}${inner ? `: ${inner}` : ""}`;
}

let registrations = 0;

/**
 * The store throughput job.
 * @param {{ store: string, impl: "ours" | "original", config?: object, n: number, timeoutMs?: number }} params
 *   The store, the implementation, our connector's config (ignored for the original: it runs with
 *   its defaults), the tasks, and the bound on processing them.
 * @returns {Promise<object>} The result.
 */
export async function storeThroughput(params) {
	const store = STORES[params.store];
	if (!store) {
		throw new Error(`Unknown store ${params.store}; known: ${STORE_NAMES.join(", ")}`);
	}
	const calls = new Int32Array(shareWithWorkers(KEYS.noopCalls, 4));
	const lib =
		params.impl === "original"
			? await import("@twin.org/background-task-connector-entity-storage")
			: await import("../../../dist/esm/index.js");
	// Each package's own BackgroundTask schema (ours adds optional columns), registered before the
	// storage connector reads it.
	lib.initSchema();
	const opened = await store.open(params.impl);
	try {
		const storage = new CountingStorage(opened.inner);
		const storageType = `bench-store-background-task-${++registrations}`;
		EntityStorageConnectorFactory.register(storageType, () => storage);
		const connector = new lib.EntityStorageBackgroundTaskConnector({
			backgroundTaskEntityStorageType: storageType,
			...(params.impl === "original" ? {} : { config: params.config })
		});
		await connector.registerHandler("bench", handlerModule("noop"), "noop");
		storage.resetCounts();
		storage.taskIds = new Set();
		const t0 = performance.now();
		for (let i = 0; i < params.n; i++) {
			const urn = await connector.create("bench", { i }, { retainFor: 0 });
			storage.taskIds.add(urn.slice(urn.lastIndexOf(":") + 1));
		}
		const tCreated = performance.now();
		const createCounts = { ...storage.counts };
		const done = storage.whenCompleted(params.n);
		const cpu0 = process.cpuUsage();
		const t1 = performance.now();
		let startMs = Number.NaN;
		let t2 = Number.NaN;
		let counts = storage.counts;
		let cpu = { user: 0, system: 0 };
		let failure;
		try {
			await within(
				(async () => {
					await connector.start(NODE);
					startMs = performance.now() - t1;
					await done;
				})(),
				params.timeoutMs ?? 150_000,
				() => `${storage.completed} of ${params.n} tasks done`
			);
		} catch (err) {
			// The original cannot run on some stores (its queries are ones the connector rejects): a
			// result saying so, with the error, rather than a failed run. A time-out is a failure.
			if (params.impl !== "original" || String(err?.message).startsWith("Timed out")) {
				throw err;
			}
			failure = describeFailure(err);
		} finally {
			// (Stopped even after a time-out, so the process can end.)
			t2 = performance.now();
			counts = { ...storage.counts };
			cpu = process.cpuUsage(cpu0);
			await connector.stop(NODE);
		}
		const createMetrics = {
			createPerSec: params.n / ((tCreated - t0) / 1000),
			createMs: tCreated - t0,
			createCallsPerTask:
				(createCounts.set + createCounts.get + createCounts.remove + createCounts.query) / params.n
		};
		if (failure) {
			return {
				metrics: { works: 0, ...createMetrics },
				checks: {},
				info: { ...opened.info, impl: params.impl, n: params.n, fails: failure }
			};
		}
		const processMs = t2 - t1;
		const handlerCalls = Atomics.load(calls, 0);
		const remaining = await opened.remaining();
		const total = counts.set + counts.get + counts.remove + counts.query;
		return {
			metrics: {
				works: 1,
				tasksPerSec: params.n / (processMs / 1000),
				endToEndPerSec: params.n / ((t2 - t0) / 1000),
				processMs,
				...createMetrics,
				// The original's start() runs the first task before it resolves.
				startMs,
				cpuPercent: ((cpu.user + cpu.system) / 1000 / processMs) * 100,
				callsPerTask: total / params.n,
				setPerTask: counts.set / params.n,
				getPerTask: counts.get / params.n,
				removePerTask: counts.remove / params.n,
				queryPerTask: counts.query / params.n,
				handlerCalls,
				remaining
			},
			checks: {
				everyHandlerRanOnce: handlerCalls === params.n,
				storeEmptyAtEnd: remaining === 0
			},
			info: { ...opened.info, impl: params.impl, n: params.n, connector: opened.inner.CLASS_NAME }
		};
	} finally {
		await opened.close();
	}
}
