// The native backend's table and rows beside TWIN's PostgreSQL entity-storage connector: the table
// is created or upgraded at open (idempotently, by several nodes at once), rows written by either
// path read back the same through the other (string and boolean payloads included), and query()
// pages as the entity-storage path does over the same rows.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import { ComparisonOperator, SortDirection } from "@twin.org/entity";
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import { afterEach, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/domain/backgroundTask.js";
import { initSchema } from "../../src/schema.js";
import { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import { TABLE_FACTS_SQL } from "../../src/store/postgresql/sql/tableFacts.js";
import { StorageAdapter } from "../../src/store/entityStorage/storageAdapter.js";
import { MIGRATE_SQL_FILE, TABLE_SQL_FILE } from "../setup/postgres.js";
import { at, newTask, useSources } from "./helpers.js";

initSchema();
const pg = useSources();

/**
 * TWIN's connectors made by a test: it has no close, so their pools are ended after the test.
 */
const twinConnectors: PostgreSqlEntityStorageConnector<BackgroundTask>[] = [];

afterEach(async () => {
	for (const connector of twinConnectors.splice(0)) {
		const pool = (connector as unknown as { _connection?: { end(o: object): Promise<void> } })
			._connection;
		await pool?.end({ timeout: 1 });
	}
});

/**
 * The shipped native table definition.
 */
const NATIVE_SQL_FILE = new URL(
	"../../docs/background-task.postgresql-native.sql",
	import.meta.url
);

/**
 * TWIN's connector on the test table.
 * @returns The connector.
 */
function twinConnector(): PostgreSqlEntityStorageConnector<BackgroundTask> {
	const server = pg.server();
	const connector = new PostgreSqlEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: {
			host: server.host,
			port: server.port,
			user: server.user,
			password: "trust",
			database: server.database,
			tableName: pg.table()
		}
	});
	twinConnectors.push(connector);
	return connector;
}

/**
 * The columns of a table with their types, nullability and collation when one is set.
 * @param table The table.
 * @returns Column to "type null|not null".
 */
async function columns(table: string): Promise<{ [column: string]: string }> {
	const rows = await pg
		.server()
		.sql.unsafe(
			`SELECT column_name, data_type, is_nullable, collation_name FROM information_schema.columns WHERE table_name = $1`,
			[table]
		);
	return Object.fromEntries(
		rows.map(r => [
			r.column_name,
			`${r.data_type} ${r.is_nullable === "YES" ? "null" : "not null"}${r.collation_name ? ` collate ${r.collation_name}` : ""}`
		])
	);
}

/**
 * The index definitions of a table.
 * @param table The table.
 * @returns Index name to definition.
 */
async function indexes(table: string): Promise<{ [name: string]: string }> {
	const rows = await pg
		.server()
		.sql.unsafe(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1`, [table]);
	return Object.fromEntries(rows.map(r => [r.indexname, r.indexdef]));
}

/**
 * A shipped SQL file with the table name replaced by the test's.
 * @param file The file.
 * @returns The SQL.
 */
function shipped(file: URL): string {
	return readFileSync(file, "utf8").replaceAll("background_task", pg.table());
}

describe("table", () => {
	test("open creates the table, lease columns and indexes; the shipped native SQL makes the same", async () => {
		const a = await pg.open();
		const made = { columns: await columns(pg.table()), indexes: await indexes(pg.table()) };
		expect(made.columns).toMatchObject({
			id: "text not null collate C",
			type: "text not null collate C",
			dateNextProcess: "text null collate C",
			status: "text not null",
			retainUntil: "bigint null",
			retryInterval: "double precision null",
			payload: "jsonb null",
			leaseOwner: "text null",
			leaseExpires: "bigint null",
			progress: "jsonb null",
			traceContext: "jsonb null",
			abortReason: "text null"
		});
		expect(Object.keys(made.columns).length).toBe(26);
		expect(Object.keys(made.indexes).sort()).toEqual(
			[`${pg.table()}_pkey`, ...PostgresStatements.indexNames(pg.table())].sort()
		);
		// A second open (another node) changes nothing and logs nothing.
		const b = await pg.open();
		expect(await indexes(pg.table())).toEqual(made.indexes);
		expect([...a.entries, ...b.entries]).toEqual([]);

		// The shipped file, run on an empty database table name, gives the same layout.
		const table = pg.table();
		await pg.server().sql.unsafe(`DROP TABLE "${table}"`);
		await pg.server().sql.unsafe(shipped(NATIVE_SQL_FILE));
		expect(await columns(table)).toEqual(made.columns);
		expect(await indexes(table)).toEqual(made.indexes);
	});

	test("an existing table of the shipped entity-storage layout is upgraded in place, once", async () => {
		await pg.server().sql.unsafe(shipped(TABLE_SQL_FILE));
		const twin = twinConnector();
		const old = newTask({ payload: "kept" });
		await new StorageAdapter(twin).set(old);
		const first = await pg.open();
		expect(first.entries.map(e => [e.level, e.message])).toEqual([["warn", "tableUpgraded"]]);
		expect(String(first.entries[0].data?.changes)).toContain("leaseOwner: added");
		expect(await columns(pg.table())).toMatchObject({
			leaseOwner: "text null",
			leaseExpires: "bigint null"
		});
		expect(Object.keys(await indexes(pg.table()))).toContain(`${pg.table()}_claim_due`);
		expect(await first.source.get(old.id)).toEqual(old);
		const second = await pg.open();
		expect(second.entries).toEqual([]);
	});

	test("a native table of 0.3.0 (no progress column) gets it at open, nullable; its rows read as before", async () => {
		await pg.server().sql.unsafe(shipped(NATIVE_SQL_FILE));
		await pg.server().sql.unsafe(`ALTER TABLE "${pg.table()}" DROP COLUMN "progress"`);
		const old = newTask({ payload: { kept: true } });
		await new StorageAdapter(twinConnector()).set(old);
		const first = await pg.open();
		expect(first.entries.map(e => [e.level, e.message])).toEqual([["warn", "tableUpgraded"]]);
		expect(String(first.entries[0].data?.changes)).toBe("progress: added");
		expect(await columns(pg.table())).toMatchObject({ progress: "jsonb null" });
		expect(await first.source.get(old.id)).toEqual(old);
	});

	test("the shipped migration (appended lines) brings an old table to the native layout", async () => {
		await pg.server().sql.unsafe(shipped(TABLE_SQL_FILE));
		await pg.server().sql.unsafe(shipped(MIGRATE_SQL_FILE));
		await pg.server().sql.unsafe(shipped(MIGRATE_SQL_FILE));
		const { entries } = await pg.open();
		expect(entries).toEqual([]);
	});

	test("a table made by TWIN's connector bootstrap gets the right number types", async () => {
		expect(await twinConnector().bootstrap()).toBe(true);
		expect(await columns(pg.table())).toMatchObject({
			retainUntil: "integer null",
			retainFor: "real null"
		});
		const { source, entries } = await pg.open();
		expect(await columns(pg.table())).toMatchObject({
			retainUntil: "bigint null",
			retainFor: "double precision null",
			retryInterval: "double precision null",
			retriesRemaining: "double precision null"
		});
		expect(String(entries[0].data?.changes)).toContain("retainUntil: integer -> bigint");
		const task = newTask({ retainUntil: Date.now() + 1e9, retainFor: 123456789 });
		await source.insert(task);
		expect(await source.get(task.id)).toEqual(task);
	});

	test("a table of another layout is refused, naming the column", async () => {
		await pg
			.server()
			.sql.unsafe(`CREATE TABLE "${pg.table()}" ("id" INTEGER PRIMARY KEY, "type" TEXT)`);
		await expect(pg.open()).rejects.toThrow(/tableIncompatible/);
	});

	test("start() reads each column's type as information_schema reports it, and the indexes as pg_indexes", async () => {
		const sql = pg.server().sql;
		const table = pg.table();
		const other = `${table}_other`;
		await sql.unsafe(`CREATE TYPE "${table}_mood" AS ENUM ('a', 'b')`);
		await sql.unsafe(`CREATE DOMAIN "${table}_txt" AS text`);
		await sql.unsafe(`CREATE DOMAIN "${table}_ints" AS integer[]`);
		await sql.unsafe(
			`CREATE TABLE "${table}" ("id" varchar(32) PRIMARY KEY, "a" text, "b" json, "c" jsonb,
			"d" integer, "e" bigint, "f" boolean, "g" timestamptz, "h" text[], "i" double precision,
			"j" numeric(10, 2), "k" "${table}_mood", "l" "${table}_txt", "m" "${table}_ints",
			"gone" text, "n" char(3))`
		);
		await sql.unsafe(`ALTER TABLE "${table}" DROP COLUMN "gone"`);
		await sql.unsafe(`CREATE INDEX "${table}_by_a" ON "${table}" ("a") WHERE "d" > 0`);
		await sql.unsafe(`CREATE TABLE "${other}" ("x" smallint)`);

		const rows = await sql.unsafe(TABLE_FACTS_SQL, [
			`{"${table}","${other}","${table}_missing"}`,
			table
		]);
		const facts = (owner: string, index: boolean): string[] =>
			rows
				.filter(r => r.owner === owner && (r.type === null) === index)
				.map(r => (index ? r.name : `${r.name} ${r.type}`))
				.sort();
		const schema = async (name: string): Promise<string[]> =>
			(
				await sql.unsafe(
					`SELECT column_name, data_type FROM information_schema.columns
					WHERE table_schema = current_schema() AND table_name = $1`,
					[name]
				)
			)
				.map(r => `${r.column_name} ${r.data_type}`)
				.sort();
		expect(facts(table, false)).toEqual(await schema(table));
		expect(facts(table, false)).toContain("h ARRAY");
		expect(facts(table, false)).toContain("k USER-DEFINED");
		expect(facts(table, false)).toContain("m ARRAY");
		expect(facts(other, false)).toEqual(await schema(other));
		expect(facts(`${table}_missing`, false)).toEqual([]);
		expect(facts(table, true)).toEqual(
			(
				await sql.unsafe(
					`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`,
					[table]
				)
			)
				.map(r => r.indexname as string)
				.sort()
		);
		expect(facts(table, true)).toEqual([`${table}_by_a`, `${table}_pkey`]);
		expect(facts(other, true)).toEqual([]);
	});

	test("nodes opening together on a missing table all succeed", async () => {
		const opened = await Promise.all([1, 2, 3, 4].map(async () => pg.open()));
		expect(opened.length).toBe(4);
		expect(Object.keys(await indexes(pg.table())).length).toBe(
			PostgresStatements.INDEXES.length + 1
		);
	});
});

describe("cross-readability with TWIN's connector", () => {
	const values: unknown[] = [
		"hello",
		"42",
		"",
		"true",
		true,
		false,
		0,
		7.25,
		[],
		{},
		["a", 1],
		{ x: "y" }
	];

	test("rows written natively read back the same through the entity-storage path", async () => {
		const { source } = await pg.open();
		const adapter = new StorageAdapter(twinConnector());
		const written: BackgroundTask[] = [];
		for (const value of values) {
			const task = newTask({
				payload: value,
				result: value,
				retainUntil: Date.now() + 5000,
				retryInterval: 250,
				error: { name: "E", message: "m" }
			});
			await source.insert(task);
			written.push(task);
		}
		for (const task of written) {
			expect(await adapter.get(task.id)).toEqual(task);
		}
		// And a settled row (written by the settle batch).
		const claimed = (await source.claim(written[0].id, "main", 0)).claimed!;
		const done: BackgroundTask = {
			...claimed,
			status: TaskStatus.Success,
			result: true,
			dateCompleted: claimed.dateModified,
			retainUntil: -1
		};
		delete done.dateNextProcess;
		delete done.error;
		expect(await source.settle(done, false)).toBe(true);
		expect(await adapter.get(done.id)).toEqual(done);
	});

	test("rows written through the entity-storage path read back the same natively", async () => {
		const { source } = await pg.open();
		const adapter = new StorageAdapter(twinConnector());
		for (const value of values) {
			const task = newTask({ payload: value, result: value, retainUntil: -1, retriesRemaining: 2 });
			await adapter.set(task);
			expect(await source.get(task.id)).toEqual(task);
		}
		// A JSONB string that is not JSON text (as the original connector writes "hello") is kept as
		// it is instead of failing the read.
		const raw = newTask();
		await pg
			.server()
			.sql.unsafe(
				`INSERT INTO "${pg.table()}" ("id", "type", "threadId", "dateCreated", "dateModified", "status", "payload") VALUES ($1, 'native', 'main', $2, $2, 'success', '"plain"'::jsonb)`,
				[raw.id, raw.dateCreated]
			);
		expect((await source.get(raw.id))?.payload).toBe("plain");
	});
});

describe("query", () => {
	test("pages as the entity-storage path does over the same rows", async () => {
		const { source } = await pg.open();
		const adapter = new StorageAdapter(twinConnector());
		const statuses = [
			TaskStatus.Pending,
			TaskStatus.Success,
			TaskStatus.Failed,
			TaskStatus.Cancelled
		];
		for (let i = 0; i < 90; i++) {
			const task = newTask({
				type: i % 3 === 0 ? "odd" : "even",
				status: statuses[i % 4],
				// Ties on purpose: id decides.
				dateCreated: at(Math.floor(i / 4)),
				dateModified: at(90 - Math.floor(i / 3)),
				dateNextProcess: i % 5 === 0 ? undefined : at(i % 7)
			});
			await (i % 2 === 0 ? source.insert(task) : adapter.set(task));
		}
		const walkNative = async (
			type: string | undefined,
			status: string | undefined,
			sort: keyof BackgroundTask,
			direction: SortDirection,
			pageSize?: number
		): Promise<{ ids: string[]; pages: number[] }> => {
			const ids: string[] = [];
			const pages: number[] = [];
			let cursor: string | undefined;
			do {
				const page = await source.query({
					type,
					status,
					sortProperty: sort,
					sortDirection: direction,
					cursor,
					pageSize
				});
				ids.push(...page.entities.map(e => e.id));
				pages.push(page.entities.length);
				cursor = page.cursor;
			} while (cursor !== undefined);
			return { ids, pages };
		};
		const walkTwin = async (
			property: "type" | "status" | undefined,
			value: string | undefined,
			sort: keyof BackgroundTask,
			direction: SortDirection,
			pageSize?: number
		): Promise<string[]> => {
			const ids: string[] = [];
			let cursor: string | undefined;
			do {
				const page = await adapter.query(
					property ? { property, comparison: ComparisonOperator.Equals, value } : undefined,
					[{ property: sort, sortDirection: direction }],
					undefined,
					cursor,
					pageSize
				);
				ids.push(...page.entities.map(e => e.id));
				cursor = page.cursor;
			} while (cursor !== undefined);
			return ids;
		};
		for (const sort of [
			"dateCreated",
			"dateModified",
			"dateNextProcess",
			"status",
			"type"
		] as const) {
			for (const direction of [SortDirection.Ascending, SortDirection.Descending]) {
				const all = await walkNative(undefined, undefined, sort, direction);
				expect(all.pages).toEqual([40, 40, 10]);
				expect(all.ids).toEqual(await walkTwin(undefined, undefined, sort, direction));
				expect((await walkNative("odd", undefined, sort, direction, 7)).ids).toEqual(
					await walkTwin("type", "odd", sort, direction, 7)
				);
				const failed = await walkTwin("status", TaskStatus.Failed, sort, direction, 7);
				expect((await walkNative(undefined, TaskStatus.Failed, sort, direction, 7)).ids).toEqual(
					failed
				);
				// Both filters in SQL: the status walk with the type kept.
				const both = await walkNative("even", TaskStatus.Failed, sort, direction, 4);
				const expected = [];
				for (const id of failed) {
					const task = await source.get(id);
					if (task?.type === "even") {
						expected.push(id);
					}
				}
				expect(both.ids).toEqual(expected);
			}
		}
		// The entities are those the entity-storage path reads.
		const page = await source.query({
			sortProperty: "dateCreated",
			sortDirection: SortDirection.Ascending,
			cursor: "20",
			pageSize: 5
		});
		expect(page.cursor).toBe("25");
		for (const entity of page.entities) {
			expect(entity).toEqual(await adapter.get(entity.id));
		}
		expect(
			await source.query({
				type: "none",
				sortProperty: "dateCreated",
				sortDirection: SortDirection.Ascending,
				pageSize: 5
			})
		).toEqual({
			entities: []
		});
	});
});
