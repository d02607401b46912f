// The queue features on the entity-storage task source, through EntityStorageTaskSource directly
// on the in-memory, file and PostgreSQL entity-storage connectors: the optional queue properties
// (stored only when set, read back as written, priority returned by scans), dedupKey (the active
// task's id while one is pending or processing, a new task once it is final, one task from
// concurrent creates), insertMany (the same stored tasks as insert, in order) and counts (a scan
// bounded by maxScan). On PostgreSQL, also a table made before the queue properties existed
// (without their columns): everything without queue options keeps working, scans drop "priority"
// from their projection, and a queue option fails with an error naming the column and migration.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { BaseError } from "@twin.org/core";
import { SortDirection } from "@twin.org/entity";
import { FileEntityStorageConnector } from "@twin.org/entity-storage-connector-file";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { ILogEntry } from "@twin.org/logging-models";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { initSchema, type BackgroundTask } from "../src/index.js";
import { QUEUE_PROPERTIES } from "../src/domain/queueProperties.js";
import { settled } from "../src/domain/rules.js";
import { EntityStorageTaskSource } from "../src/store/entityStorage/entityStorageTaskSource.js";
import { TaskLog } from "../src/utils/taskLog.js";
import { errorText } from "./helpers/errors.js";
import { usePostgres, type ITestPostgres } from "./setup/postgres.js";

initSchema();

/**
 * The columns of the background task table before this package's queue properties: the shipped
 * definition (docs/background-task.postgresql.sql) as it was, frozen here so the test keeps
 * meaning a table made before the change whatever the shipped file says later.
 */
const ORIGINAL_COLUMNS = `
	"id" TEXT NOT NULL PRIMARY KEY,
	"type" TEXT NOT NULL,
	"threadId" TEXT NOT NULL,
	"retryInterval" DOUBLE PRECISION NULL,
	"retriesRemaining" DOUBLE PRECISION NULL,
	"dateCreated" TEXT NOT NULL,
	"dateModified" TEXT NOT NULL,
	"dateNextProcess" TEXT NULL,
	"dateCancelled" TEXT NULL,
	"dateCompleted" TEXT NULL,
	"retainFor" DOUBLE PRECISION NULL,
	"retainUntil" BIGINT NULL,
	"status" TEXT NOT NULL,
	"payload" JSONB NULL,
	"result" JSONB NULL,
	"error" JSONB NULL`;

/**
 * The queue properties' columns, nullable, as a migration adds them.
 */
const QUEUE_COLUMNS = `
	ADD COLUMN "priority" INTEGER NULL,
	ADD COLUMN "dedupKey" TEXT NULL,
	ADD COLUMN "retryBackoff" TEXT NULL,
	ADD COLUMN "retryMaxInterval" DOUBLE PRECISION NULL,
	ADD COLUMN "attempts" INTEGER NULL,
	ADD COLUMN "progress" JSONB NULL,
	ADD COLUMN "traceContext" JSONB NULL`;

/**
 * The table with the queue columns.
 */
const QUEUE_TABLE = "queue_task";

/**
 * The table made before the queue properties.
 */
const ORIGINAL_TABLE = "original_task";

/**
 * The queue properties (progress among them).
 */
const QUEUE_KEYS: string[] = [...QUEUE_PROPERTIES];

const postgresServer = usePostgres();
const root = mkdtempSync(join(tmpdir(), "twin-bg-queue-"));
let dirCount = 0;
let taskCount = 0;
let server: ITestPostgres | undefined;
const pgConnectors = new Map<string, PostgreSqlEntityStorageConnector<BackgroundTask>>();

afterAll(async () => {
	rmSync(root, { recursive: true, force: true });
	// End the TWIN connectors' connection pools before the server stops (this hook runs before
	// usePostgres's): the connector has no close of its own, and a pool left open logs each
	// connection's termination notice at the server's shutdown.
	for (const connector of pgConnectors.values()) {
		const pool = (connector as unknown as { _connection?: { end: (o: object) => Promise<void> } })
			._connection;
		await pool?.end({ timeout: 5 });
	}
});

/**
 * The running PostgreSQL server, started (and both tables made) on first use.
 * @returns The server.
 */
async function pg(): Promise<ITestPostgres> {
	if (!server) {
		const started = await postgresServer();
		await started.sql.unsafe(`CREATE TABLE ${QUEUE_TABLE} (${ORIGINAL_COLUMNS})`);
		await started.sql.unsafe(`ALTER TABLE ${QUEUE_TABLE} ${QUEUE_COLUMNS}`);
		await started.sql.unsafe(`CREATE TABLE ${ORIGINAL_TABLE} (${ORIGINAL_COLUMNS})`);
		server = started;
	}
	return server;
}

/**
 * One TWIN PostgreSQL connector (one connection pool) per table, shared by the file's tests.
 * @param table The table.
 * @returns The connector.
 */
async function pgConnector(
	table: string
): Promise<PostgreSqlEntityStorageConnector<BackgroundTask>> {
	const s = await pg();
	let connector = pgConnectors.get(table);
	if (!connector) {
		connector = new PostgreSqlEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask",
			config: {
				host: s.host,
				port: s.port,
				user: s.user,
				password: "trust",
				database: s.database,
				tableName: table
			}
		});
		pgConnectors.set(table, connector);
	}
	return connector;
}

/**
 * A storage under test, emptied, with its raw stored form of a task.
 */
interface IBackend {
	/**
	 * The storage.
	 */
	storage: IEntityStorageConnector<BackgroundTask>;

	/**
	 * The task as stored, bypassing this package (the connector's object, the file's JSON, the
	 * table's row).
	 */
	raw: (id: string) => Promise<{ [key: string]: unknown } | undefined>;
}

/**
 * The backends, each giving an empty storage.
 */
const BACKENDS: { name: string; fresh: () => Promise<IBackend> }[] = [
	{
		name: "memory",
		fresh: async () => {
			const storage = new MemoryEntityStorageConnector<BackgroundTask>({
				entitySchema: "BackgroundTask"
			});
			return {
				storage,
				raw: async id => {
					const stored = await storage.get(id);
					return stored ? { ...stored } : undefined;
				}
			};
		}
	},
	{
		name: "file",
		fresh: async () => {
			const directory = join(root, `store-${++dirCount}`);
			const storage = new FileEntityStorageConnector<BackgroundTask>({
				entitySchema: "BackgroundTask",
				config: { directory }
			});
			expect(await storage.bootstrap()).toBe(true);
			return {
				storage,
				raw: async id => {
					const all = JSON.parse(readFileSync(join(directory, "store.json"), "utf8")) as {
						id: string;
					}[];
					return all.find(t => t.id === id);
				}
			};
		}
	},
	{
		name: "postgresql",
		fresh: async () => {
			const s = await pg();
			await s.sql.unsafe(`TRUNCATE ${QUEUE_TABLE}`);
			return {
				storage: await pgConnector(QUEUE_TABLE),
				raw: async id => {
					const rows = await s.sql.unsafe(`SELECT * FROM ${QUEUE_TABLE} WHERE "id" = $1`, [id]);
					return rows[0] as { [key: string]: unknown } | undefined;
				}
			};
		}
	}
];

/**
 * A new task as create() makes it: pending, due now, this thread's.
 * @param overrides Fields to set.
 * @returns The task.
 */
function newTask(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const now = new Date().toISOString();
	return {
		id: randomBytes(16).toString("hex"),
		type: "queued",
		threadId: "main",
		dateCreated: now,
		dateModified: now,
		dateNextProcess: now,
		status: TaskStatus.Pending,
		retainFor: -1,
		payload: { n: ++taskCount },
		...overrides
	};
}

/**
 * A source over the storage, with its log entries.
 * @param storage The storage.
 * @returns The source and its entries.
 */
function sourceOver(storage: IEntityStorageConnector<BackgroundTask>): {
	source: EntityStorageTaskSource;
	entries: ILogEntry[];
} {
	const entries: ILogEntry[] = [];
	const log = new TaskLog("EntityStorageBackgroundTaskConnector", {
		log: async (entry: ILogEntry) => {
			entries.push(entry);
		}
	});
	return { source: new EntityStorageTaskSource(storage, log), entries };
}

/**
 * Claim a task through the source and settle it with success.
 * @param source The source.
 * @param id The task id.
 * @returns The settled task.
 */
async function runToSuccess(source: EntityStorageTaskSource, id: string): Promise<BackgroundTask> {
	const { claimed: task } = await source.claim(id, "main", Date.now());
	expect(task?.status).toBe(TaskStatus.Processing);
	const done = settled(
		task as BackgroundTask,
		{ ok: true, result: { done: id } },
		Date.now(),
		1000
	);
	expect(await source.settle(done, false)).toBe(true);
	return done;
}

/**
 * Every task in storage, in creation order then id, read through the source.
 * @param source The source.
 * @returns The tasks.
 */
async function allTasks(source: EntityStorageTaskSource): Promise<BackgroundTask[]> {
	const tasks: BackgroundTask[] = [];
	let cursor: string | undefined;
	do {
		const page = await source.query({
			sortProperty: "dateCreated",
			sortDirection: SortDirection.Ascending,
			cursor,
			pageSize: 1000
		});
		tasks.push(...page.entities);
		cursor = page.cursor;
	} while (cursor !== undefined);
	return tasks;
}

/**
 * The storage with its queries recorded (pages' properties and sizes), the connector's
 * CLASS_NAME kept so the source applies the same workarounds.
 * @param storage The storage.
 * @returns The recording storage and the record.
 */
function recordingQueries(storage: IEntityStorageConnector<BackgroundTask>): {
	storage: IEntityStorageConnector<BackgroundTask>;
	queries: { properties?: string[]; pageSize?: number; returned: number }[];
} {
	const queries: { properties?: string[]; pageSize?: number; returned: number }[] = [];
	const recording = new Proxy(storage, {
		get(target, property, receiver) {
			if (property === "query") {
				const query: IEntityStorageConnector<BackgroundTask>["query"] = async (
					conditions,
					sort,
					properties,
					cursor,
					pageSize
				) => {
					const page = await target.query(conditions, sort, properties, cursor, pageSize);
					queries.push({
						properties: properties as string[] | undefined,
						pageSize,
						returned: page.entities.length
					});
					return page;
				};
				return query;
			}
			const value = Reflect.get(target, property, receiver) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		}
	});
	return { storage: recording, queries };
}

/**
 * The error a promise rejects with.
 * @param promise The promise.
 * @returns The error.
 */
async function rejectionOf(promise: Promise<unknown>): Promise<BaseError> {
	try {
		await promise;
	} catch (err) {
		return BaseError.fromError(err);
	}
	throw new Error("expected a rejection");
}

describe.each(BACKENDS)("queue features over the $name entity-storage connector", backend => {
	let storage: IEntityStorageConnector<BackgroundTask>;
	let raw: IBackend["raw"];

	beforeEach(async () => {
		({ storage, raw } = await backend.fresh());
	}, 90000);

	test("queue properties round-trip; unset, they are absent, in the stored row too; scans return priority", async () => {
		const { source } = sourceOver(storage);
		const withOptions = newTask({
			priority: 7,
			dedupKey: "order-1",
			retryBackoff: "exponential",
			retryMaxInterval: 60000,
			attempts: 0
		});
		const plain = newTask();
		expect(await source.insert(withOptions)).toBe(withOptions.id);
		expect(await source.insert(plain)).toBe(plain.id);

		expect(await source.get(withOptions.id)).toEqual(withOptions);
		const readPlain = (await source.get(plain.id)) as BackgroundTask;
		expect(readPlain).toEqual(plain);
		for (const key of QUEUE_KEYS) {
			expect(readPlain[key as keyof BackgroundTask]).toBeUndefined();
		}

		const rawPlain = (await raw(plain.id)) as { [key: string]: unknown };
		const rawWith = (await raw(withOptions.id)) as { [key: string]: unknown };
		for (const key of QUEUE_KEYS) {
			if (backend.name === "postgresql") {
				// The columns exist: NULL in the row.
				expect(rawPlain[key]).toBeNull();
			} else {
				expect(Object.keys(rawPlain)).not.toContain(key);
			}
		}
		expect(rawWith).toMatchObject({
			priority: 7,
			dedupKey: "order-1",
			retryBackoff: "exponential",
			retryMaxInterval: 60000,
			attempts: 0
		});

		// The scan the scheduler orders its queue by carries priority.
		const { tasks, complete } = await source.fetch("queued", "main", 10, Date.now());
		expect(complete).toBe(true);
		const byId = new Map(tasks.map(t => [t.id, t]));
		expect(byId.get(withOptions.id)?.priority).toBe(7);
		expect(byId.get(plain.id)?.priority).toBeUndefined();

		// A claim counts the attempt of a task that records attempts, and settles keep the options.
		const done = await runToSuccess(source, withOptions.id);
		expect(done.attempts).toBe(1);
		expect(await source.get(withOptions.id)).toMatchObject({
			status: TaskStatus.Success,
			priority: 7,
			dedupKey: "order-1",
			retryBackoff: "exponential",
			retryMaxInterval: 60000,
			attempts: 1
		});
		const plainDone = await runToSuccess(source, plain.id);
		expect(plainDone.attempts).toBeUndefined();
		const rawPlainDone = (await raw(plain.id)) as { [key: string]: unknown };
		for (const key of QUEUE_KEYS) {
			if (backend.name === "postgresql") {
				expect(rawPlainDone[key]).toBeNull();
			} else {
				expect(Object.keys(rawPlainDone)).not.toContain(key);
			}
		}
	});

	test("progress is written onto a running task only while this instance holds its claim, dateModified unchanged", async () => {
		const { source } = sourceOver(storage);
		const task = newTask({ type: "progressed" });
		await source.insert(task);
		// Not claimed here: nothing is written.
		expect(await source.writeProgress(task.id, 1)).toBe(false);
		const claimed = (await source.claim(task.id, "main", Date.now())).claimed as BackgroundTask;
		expect(await source.writeProgress(task.id, { step: 1 })).toBe(true);
		expect(await source.writeProgress(task.id, "half")).toBe(true);
		expect(await source.get(task.id)).toEqual({ ...claimed, progress: "half" });

		// The settle writes the last value; a write after it changes nothing.
		const done = settled({ ...claimed, progress: [1, "all"] }, { ok: true }, Date.now(), 1000);
		expect(await source.settle(done, false)).toBe(true);
		expect(await source.writeProgress(task.id, "late")).toBe(false);
		expect((await source.get(task.id))?.progress).toEqual([1, "all"]);

		// A task removed while it runs is not written back.
		const removed = newTask({ type: "progressed" });
		await source.insert(removed);
		await source.claim(removed.id, "main", Date.now());
		await source.remove(removed.id);
		expect(await source.writeProgress(removed.id, 1)).toBe(false);
		expect(await source.get(removed.id)).toBeUndefined();
	});

	test("dedupKey: the active task's id while it is pending or processing, a new task once it is final", async () => {
		const { source } = sourceOver(storage);
		const first = newTask({ dedupKey: "k" });
		expect(await source.insert(first)).toBe(first.id);
		// Pending: the same id, nothing stored.
		expect(await source.insert(newTask({ dedupKey: "k" }))).toBe(first.id);
		// Another type or another key: a task of its own.
		const otherType = newTask({ type: "other", dedupKey: "k" });
		expect(await source.insert(otherType)).toBe(otherType.id);
		const otherKey = newTask({ dedupKey: "k2" });
		expect(await source.insert(otherKey)).toBe(otherKey.id);
		// No key: never deduplicated.
		const noKey = newTask();
		expect(await source.insert(noKey)).toBe(noKey.id);
		expect((await allTasks(source)).length).toBe(4);

		// Processing: still the same id.
		const { claimed: running } = await source.claim(first.id, "main", Date.now());
		expect(running?.status).toBe(TaskStatus.Processing);
		expect(await source.insert(newTask({ dedupKey: "k" }))).toBe(first.id);

		// Final (success, retained): the key is free.
		const done = settled(running as BackgroundTask, { ok: true }, Date.now(), 1000);
		await source.settle(done, false);
		const second = newTask({ dedupKey: "k" });
		expect(await source.insert(second)).toBe(second.id);
		expect(await source.insert(newTask({ dedupKey: "k" }))).toBe(second.id);

		// Cancelled: free again.
		expect((await source.cancel(second.id, Date.now()))?.status).toBe(TaskStatus.Cancelled);
		const third = newTask({ dedupKey: "k" });
		expect(await source.insert(third)).toBe(third.id);

		// Failed (no retries left): free again.
		const { claimed: attempt } = await source.claim(third.id, "main", Date.now());
		const failed = settled(
			attempt as BackgroundTask,
			{ ok: false, error: { name: "Error", message: "no" } },
			Date.now(),
			1000
		);
		expect(failed.status).toBe(TaskStatus.Failed);
		await source.settle(failed, false);
		const fourth = newTask({ dedupKey: "k" });
		expect(await source.insert(fourth)).toBe(fourth.id);

		const stored = await allTasks(source);
		expect(stored.filter(t => t.dedupKey === "k" && t.type === "queued").length).toBe(4);
		expect(
			stored.filter(
				t =>
					t.dedupKey === "k" &&
					t.type === "queued" &&
					(t.status === TaskStatus.Pending || t.status === TaskStatus.Processing)
			)
		).toHaveLength(1);
	});

	test("dedupKey: 20 concurrent inserts with one key store one task", async () => {
		const { source } = sourceOver(storage);
		const tasks = Array.from({ length: 20 }, () => newTask({ dedupKey: "burst" }));
		const ids = await Promise.all(tasks.map(async t => source.insert(t)));
		expect(new Set(ids).size).toBe(1);
		expect(ids[0]).toBe(tasks[0].id);
		const stored = await allTasks(source);
		expect(stored.map(t => t.id)).toEqual([tasks[0].id]);
	});

	test("insertMany stores the same tasks as insert, in the same order", async () => {
		const base = Date.parse("2026-03-01T00:00:00.000Z");
		const tasks = Array.from({ length: 60 }, (_, i) => {
			const at = new Date(base + i).toISOString();
			return newTask({
				type: i % 3 === 0 ? "many-a" : "many-b",
				dateCreated: at,
				dateModified: at,
				dateNextProcess: at,
				retainFor: i % 2 === 0 ? -1 : 0,
				retriesRemaining: i % 4,
				payload: i % 5 === 0 ? "text" : { i, list: [i, "x", true] },
				...(i % 2 === 0 ? { priority: i, retryBackoff: "exponential", attempts: 0 } : {})
			});
		});
		const { source: many } = sourceOver(storage);
		await many.insertMany(tasks.map(t => structuredClone(t)));
		const viaMany = await allTasks(many);
		const rawMany = await Promise.all(tasks.map(async t => raw(t.id)));

		({ storage, raw } = await backend.fresh());
		const { source: single } = sourceOver(storage);
		for (const task of tasks) {
			await single.insert(structuredClone(task));
		}
		const viaInsert = await allTasks(single);
		const rawInsert = await Promise.all(tasks.map(async t => raw(t.id)));

		expect(viaMany.map(t => t.id)).toEqual(tasks.map(t => t.id));
		expect(viaMany).toEqual(viaInsert);
		expect(viaMany).toEqual(tasks);
		expect(rawMany).toEqual(rawInsert);
	});

	test("counts per type and status, bounded by maxScan, reading only type and status", async () => {
		const recorded = recordingQueries(storage);
		const { source } = sourceOver(recorded.storage);
		const plan: [string, TaskStatus, number][] = [
			["count-a", TaskStatus.Pending, 3],
			["count-a", TaskStatus.Success, 2],
			["count-b", TaskStatus.Failed, 1],
			["count-b", TaskStatus.Processing, 4],
			["count-b", TaskStatus.Cancelled, 2]
		];
		const tasks: BackgroundTask[] = [];
		for (const [type, status, n] of plan) {
			for (let i = 0; i < n; i++) {
				tasks.push(newTask({ type, status }));
			}
		}
		await source.insertMany(tasks);

		const all = await source.counts(undefined, 1000);
		expect(all).toEqual({
			counts: {
				"count-a": { pending: 3, success: 2 },
				"count-b": { failed: 1, processing: 4, cancelled: 2 }
			},
			complete: true
		});
		expect(await source.counts("count-a", 1000)).toEqual({
			counts: { "count-a": { pending: 3, success: 2 } },
			complete: true
		});
		expect(await source.counts("none", 1000)).toEqual({ counts: {}, complete: true });
		// Exactly as many tasks as the bound: complete.
		expect((await source.counts(undefined, 12)).complete).toBe(true);
		expect((await source.counts("count-a", 5)).complete).toBe(true);

		// Fewer than the tasks: partial counts of exactly maxScan tasks, complete=false, and no
		// more than maxScan + 1 tasks read.
		recorded.queries.length = 0;
		const partial = await source.counts(undefined, 5);
		expect(partial.complete).toBe(false);
		const counted = Object.values(partial.counts)
			.flatMap(byStatus => Object.values(byStatus))
			.reduce((a, b) => a + b, 0);
		expect(counted).toBe(5);
		expect(recorded.queries.reduce((n, q) => n + q.returned, 0)).toBeLessThanOrEqual(6);
		expect(recorded.queries.every(q => q.properties?.join() === "type,status")).toBe(true);
		expect((await source.counts("count-b", 6)).complete).toBe(false);
		expect(await source.counts(undefined, 0)).toEqual({ counts: {}, complete: false });

		// Paging: more tasks than a page of the scan (1,000).
		const more = Array.from({ length: 1010 }, () => newTask({ type: "count-c" }));
		await source.insertMany(more);
		expect(await source.counts("count-c", 5000)).toEqual({
			counts: { "count-c": { pending: 1010 } },
			complete: true
		});
		const bounded = await source.counts(undefined, 1005);
		expect(bounded.complete).toBe(false);
		expect(
			Object.values(bounded.counts)
				.flatMap(byStatus => Object.values(byStatus))
				.reduce((a, b) => a + b, 0)
		).toBe(1005);
	}, 60000);

	test("tasks due in the same millisecond are scanned in creation order on the in-process connectors", async () => {
		const { source } = sourceOver(storage);
		const at = new Date().toISOString();
		const tasks = Array.from({ length: 20 }, () =>
			newTask({ type: "tied", dateCreated: at, dateModified: at, dateNextProcess: at })
		);
		for (const task of tasks) {
			await source.insert(task);
		}
		const { tasks: scanned } = await source.fetch("tied", "main", 100, Date.now());
		if (backend.name === "postgresql") {
			// No insertion order in a table: ties are broken by id (random), for a total order.
			expect(scanned.map(t => t.id)).toEqual(tasks.map(t => t.id).sort());
		} else {
			expect(scanned.map(t => t.id)).toEqual(tasks.map(t => t.id));
		}
	});

	test("takeStart always grants: no shared counter over entity storage", async () => {
		const { source } = sourceOver(storage);
		for (let i = 0; i < 5; i++) {
			expect(await source.takeStart("queued", 1, 60000)).toBe(0);
		}
	});
});

describe("PostgreSQL table with the shipped unique index on type and dedupKey of active tasks", () => {
	test("two instances racing on one key: the write refused by the index returns the winner's id", async () => {
		const s = await pg();
		await s.sql.unsafe(`TRUNCATE ${QUEUE_TABLE}`);
		await s.sql.unsafe(
			`CREATE UNIQUE INDEX queue_task_dedup ON ${QUEUE_TABLE} ("type", "dedupKey") ` +
				`WHERE "dedupKey" IS NOT NULL AND "status" IN ('pending', 'processing')`
		);
		try {
			const storage = await pgConnector(QUEUE_TABLE);
			// Two sources on one store stand for two nodes: their per-key locks do not see each other.
			const a = sourceOver(storage).source;
			const b = sourceOver(storage).source;
			for (let round = 0; round < 5; round++) {
				const key = `race-${round}`;
				const ids = await Promise.all(
					Array.from({ length: 10 }, async (_, i) =>
						(i % 2 === 0 ? a : b).insert(newTask({ dedupKey: key }))
					)
				);
				expect(new Set(ids).size).toBe(1);
				const rows = await s.sql.unsafe(`SELECT "id" FROM ${QUEUE_TABLE} WHERE "dedupKey" = $1`, [
					key
				]);
				expect(rows.map(r => r.id)).toEqual([ids[0]]);
			}
			// Once the winner is final, the key is free again, index and all.
			const other = newTask({ dedupKey: "race-0" });
			await s.sql.unsafe(
				`UPDATE ${QUEUE_TABLE} SET "status" = 'success' WHERE "dedupKey" = 'race-0'`
			);
			expect(await a.insert(other)).toBe(other.id);
		} finally {
			await s.sql.unsafe("DROP INDEX IF EXISTS queue_task_dedup");
		}
	});
});

describe("a PostgreSQL table made before the queue properties (no columns for them)", () => {
	let storage: PostgreSqlEntityStorageConnector<BackgroundTask>;

	beforeEach(async () => {
		const s = await pg();
		await s.sql.unsafe(`TRUNCATE ${ORIGINAL_TABLE}`);
		storage = await pgConnector(ORIGINAL_TABLE);
	}, 90000);

	test("the table has none of the queue columns", async () => {
		const s = await pg();
		const rows = await s.sql<{ column_name: string }[]>`
			SELECT column_name FROM information_schema.columns WHERE table_name = ${ORIGINAL_TABLE}`;
		const columns = rows.map(r => r.column_name);
		expect(columns).toContain("retainUntil");
		for (const key of QUEUE_KEYS) {
			expect(columns).not.toContain(key);
		}
		// And a query naming one fails there, as the scan's projection would.
		expect(
			errorText(await rejectionOf(storage.query(undefined, undefined, ["priority"])))
		).toContain('column "priority" does not exist');
	});

	test("tasks without queue options: insert, insertMany, scan, claim, settle, get, query, cancel, retry, remove, sweep, counts", async () => {
		const { source, entries } = sourceOver(storage);
		const a = newTask({ type: "old" });
		const b = newTask({ type: "old" });
		expect(await source.insert(a)).toBe(a.id);
		await source.insertMany([b, newTask({ type: "old-many" }), newTask({ type: "old-many" })]);

		// Scans drop priority from their projection and read the tasks.
		const { tasks, complete } = await source.fetch("old", "main", 10, Date.now());
		expect(complete).toBe(true);
		expect(tasks.map(t => t.id).sort()).toEqual([a.id, b.id].sort());
		expect(tasks.every(t => t.priority === undefined)).toBe(true);
		// And again (projection already reduced), and across types for the noHandler sample.
		expect((await source.fetch("old-many", "main", 10, Date.now())).tasks).toHaveLength(2);
		expect((await source.dueSample("main", Date.now())).map(s => s.type).sort()).toEqual([
			"old",
			"old-many"
		]);

		await runToSuccess(source, a.id);
		expect(await source.get(a.id)).toMatchObject({
			status: TaskStatus.Success,
			result: { done: a.id }
		});
		expect((await source.cancel(b.id, Date.now()))?.status).toBe(TaskStatus.Cancelled);
		expect((await source.retry(b.id, Date.now()))?.status).toBeUndefined();

		const page = await source.query({
			type: "old",
			status: TaskStatus.Success,
			sortProperty: "dateCreated",
			sortDirection: SortDirection.Ascending,
			pageSize: 10
		});
		expect(page.entities.map(t => t.id)).toEqual([a.id]);

		expect(await source.counts(undefined, 100)).toEqual({
			counts: { old: { success: 1, cancelled: 1 }, "old-many": { pending: 2 } },
			complete: true
		});

		// A failed task retried: pending again, claimable, no attempts recorded.
		const c = newTask({ type: "old", retainFor: -1 });
		await source.insert(c);
		const { claimed: attempt } = await source.claim(c.id, "main", Date.now());
		const failed = settled(
			attempt as BackgroundTask,
			{ ok: false, error: { name: "Error", message: "boom" } },
			Date.now(),
			1000
		);
		await source.settle(failed, false);
		expect((await source.retry(c.id, Date.now()))?.status).toBe(TaskStatus.Pending);
		expect((await source.claim(c.id, "main", Date.now())).claimed?.attempts).toBeUndefined();

		await source.remove(c.id);
		expect(await source.get(c.id)).toBeUndefined();

		// Expired retained tasks are swept.
		const expired = newTask({ type: "old", retainFor: 1 });
		await source.insert(expired);
		const { claimed: ran } = await source.claim(expired.id, "main", Date.now());
		// Settled as of ten seconds ago, so its retain period of 1 ms has passed.
		await source.settle(
			settled(ran as BackgroundTask, { ok: true }, Date.now() - 10000, 1000),
			false
		);
		expect(await source.sweep(Date.now())).toBeGreaterThanOrEqual(1);
		expect(await source.get(expired.id)).toBeUndefined();

		// Nothing extra was logged for the reduced projection.
		expect(entries).toEqual([]);
	});

	test("a scan of a brand-new source on the table succeeds at once, and other errors still propagate", async () => {
		const task = newTask({ type: "fresh-scan" });
		await sourceOver(storage).source.insert(task);
		const { source } = sourceOver(storage);
		expect((await source.fetch("fresh-scan", "main", 10, Date.now())).tasks.map(t => t.id)).toEqual(
			[task.id]
		);
		const missingTable = sourceOver(await pgConnector("no_such_table")).source;
		expect(
			errorText(await rejectionOf(missingTable.fetch("fresh-scan", "main", 10, Date.now())))
		).toContain('relation "no_such_table" does not exist');
	});

	test("a queue option on the table fails with an error naming the column and the migration", async () => {
		const { source } = sourceOver(storage);
		const dedup = await rejectionOf(source.insert(newTask({ type: "old", dedupKey: "k" })));
		expect(dedup.name).toBe("GeneralError");
		expect(dedup.message).toBe("entityStorageTaskSource.queueColumnMissing");
		expect(dedup.properties).toEqual({
			column: "dedupKey",
			migration: "docs/background-task.postgresql-migrate.sql"
		});
		expect(errorText(dedup)).toContain('column "dedupKey" does not exist');

		const priority = await rejectionOf(source.insert(newTask({ type: "old", priority: 3 })));
		expect(priority.message).toBe("entityStorageTaskSource.queueColumnMissing");
		expect(priority.properties?.column).toBe("priority");

		const many = await rejectionOf(source.insertMany([newTask({ type: "old", attempts: 0 })]));
		expect(many.properties?.column).toBe("attempts");

		// Nothing was stored by the failed inserts, and a task without options still goes in.
		expect(await source.counts(undefined, 100)).toEqual({ counts: {}, complete: true });
		const plain = newTask({ type: "old" });
		expect(await source.insert(plain)).toBe(plain.id);
	});

	test("progress on the table: a write while running fails naming the column; the settle writes the task without it", async () => {
		const { source } = sourceOver(storage);
		const task = newTask({ type: "old-progress" });
		await source.insert(task);
		const claimed = (await source.claim(task.id, "main", Date.now())).claimed as BackgroundTask;
		const failed = await rejectionOf(source.writeProgress(task.id, { step: 1 }));
		expect(failed.message).toBe("entityStorageTaskSource.queueColumnMissing");
		expect(failed.properties?.column).toBe("progress");

		const done = settled(
			{ ...claimed, progress: { step: 2 } },
			{ ok: true, result: 1 },
			Date.now(),
			1000
		);
		expect(await source.settle(done, false)).toBe(true);
		const stored = (await source.get(task.id)) as BackgroundTask;
		expect(stored).toMatchObject({ status: TaskStatus.Success, result: 1 });
		expect(stored.progress).toBeUndefined();
	});
});
