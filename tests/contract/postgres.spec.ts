// The storage contract on @twin.org/entity-storage-connector-postgresql against a real server
// started from the machine's binaries (tests/setup/postgres.ts), and one test per known behaviour
// of that connector version with the workaround that answers it. If the server cannot start, every
// test fails with the reason: the suite is never skipped.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import { ComparisonOperator, LogicalOperator, SortDirection } from "@twin.org/entity";
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import { beforeEach, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { rejection } from "../helpers/errors.js";
import { createConnector, waitForStatus } from "../helpers/harness.js";
import {
	MIGRATE_SQL_FILE,
	TABLE_NAME,
	usePostgres,
	type ITestPostgres
} from "../setup/postgres.js";
import { queueContract } from "./queueContract.js";
import {
	CONTRACT_HANDLERS,
	storageContract,
	storedTask,
	type IStorageBackend
} from "./storageContract.js";

const postgresServer = usePostgres();
let server: ITestPostgres | undefined;
let shared: PostgreSqlEntityStorageConnector<BackgroundTask> | undefined;

// Started by the first test (a failure fails each test with the reason), stopped after the file.
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

/**
 * A PostgreSQL storage connector on the test server.
 * @param tableName The table.
 * @param database The configured database (the connector ignores it).
 * @returns The connector.
 */
function connectorFor(
	tableName: string,
	database = pg().database
): PostgreSqlEntityStorageConnector<BackgroundTask> {
	return new PostgreSqlEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: {
			host: pg().host,
			port: pg().port,
			user: pg().user,
			password: "trust",
			database,
			tableName
		}
	});
}

/**
 * The SQL type of each column of a table.
 * @param table The table.
 * @returns Column name to data type.
 */
async function columnTypes(table: string): Promise<{ [column: string]: string }> {
	const rows = await pg().sql<{ column_name: string; data_type: string }[]>`
		SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ${table}`;
	return Object.fromEntries(rows.map(r => [r.column_name, r.data_type]));
}

const BACKEND: IStorageBackend = {
	fresh: async () => {
		// One connector (one connection pool) over the shipped table, emptied for each test.
		await pg().sql.unsafe(`TRUNCATE ${TABLE_NAME}`);
		shared ??= connectorFor(TABLE_NAME);
		return shared;
	}
};

storageContract("postgresql", BACKEND);
queueContract("postgresql", BACKEND);

describe("postgresql connector behaviours", () => {
	test("the test table is the shipped definition: BIGINT retainUntil, DOUBLE PRECISION numbers", async () => {
		const types = await columnTypes(TABLE_NAME);
		expect(types).toMatchObject({
			retainUntil: "bigint",
			retryInterval: "double precision",
			retriesRemaining: "double precision",
			retainFor: "double precision",
			payload: "jsonb",
			dateNextProcess: "text"
		});
	});

	test("two or more conditions fail with a misnumbered placeholder; one condition, In included, works", async () => {
		const storage = connectorFor(TABLE_NAME);
		await pg().sql.unsafe(`TRUNCATE ${TABLE_NAME}`);
		const task = storedTask({ type: "two-conditions" });
		await storage.set(task);
		const twoConditions = storage.query({
			conditions: [
				{ property: "type", comparison: ComparisonOperator.Equals, value: "two-conditions" },
				{ property: "status", comparison: ComparisonOperator.Equals, value: TaskStatus.Pending }
			],
			logicalOperator: LogicalOperator.And
		});
		expect(await rejection(twoConditions)).toContain(
			"could not determine data type of parameter $2"
		);

		const single = await storage.query({
			property: "status",
			comparison: ComparisonOperator.In,
			value: [TaskStatus.Pending, TaskStatus.Failed]
		});
		expect(single.entities.map(e => e.id)).toEqual([task.id]);

		// The workaround: the store sends one condition and filters the rest in code.
		const { connector } = createConnector({ executionMode: "inline" }, storage);
		const both = await connector.query("two-conditions", TaskStatus.Pending);
		expect(both.entities.map(e => e.id)).toEqual([task.id]);
	});

	test("config.database is ignored: the connector uses the user's default database", async () => {
		const storage = connectorFor(TABLE_NAME, "no_such_database");
		const task = storedTask({ type: "database" });
		await storage.set(task);
		expect((await storage.get(task.id))?.type).toBe("database");
		// The row is in the user's default database, where the admin client is connected.
		const rows = await pg().sql`SELECT "type" FROM background_task WHERE "id" = ${task.id}`;
		expect(rows.map(r => r.type)).toEqual(["database"]);
		const databases = await pg()
			.sql`SELECT datname FROM pg_database WHERE datname = 'no_such_database'`;
		expect(databases.length).toBe(0);
	});

	test("its bootstrap makes retainUntil INTEGER, too small for epoch ms; the shipped fix makes it work", async () => {
		const table = "bootstrapped_task";
		const storage = connectorFor(table);
		expect(await storage.bootstrap()).toBe(true);
		expect(await columnTypes(table)).toMatchObject({
			retainUntil: "integer",
			retryInterval: "real",
			retriesRemaining: "real",
			retainFor: "real"
		});
		const retained = storedTask({
			status: TaskStatus.Success,
			retainFor: 60000,
			retainUntil: Date.now() + 60000
		});
		delete retained.dateNextProcess;
		expect(await rejection(storage.set(retained))).toMatch(
			/value "\d+" is out of range for type integer/
		);

		// The shipped migration turns the bootstrapped table into the shipped definition.
		await pg().sql.unsafe(readFileSync(MIGRATE_SQL_FILE, "utf8").replaceAll(TABLE_NAME, table));
		expect(await columnTypes(table)).toMatchObject({
			retainUntil: "bigint",
			retryInterval: "double precision",
			retriesRemaining: "double precision",
			retainFor: "double precision"
		});
		await storage.set(retained);
		expect(Number((await storage.get(retained.id))?.retainUntil)).toBe(retained.retainUntil);
	});

	test("BIGINT comes back as a string; the store coerces it, so retainUntil round-trips", async () => {
		const storage = connectorFor(TABLE_NAME);
		await pg().sql.unsafe(`TRUNCATE ${TABLE_NAME}`);
		const { connector, start } = createConnector({ executionMode: "inline" }, storage);
		await connector.registerHandler("retained", CONTRACT_HANDLERS, "echo");
		const id = await connector.create("retained", { r: 1 }, { retainFor: 60000, retryCount: 2 });
		// DOUBLE PRECISION columns come back as numbers: read while pending, before start.
		const pending = (await storage.get(id.split(":").pop() as string)) as BackgroundTask;
		expect(typeof pending.retainFor).toBe("number");
		expect(pending.retainFor).toBe(60000);
		expect(pending.retriesRemaining).toBe(2);
		await start();
		const task = await waitForStatus(connector, id, [TaskStatus.Success]);

		const raw = (await storage.get(id.split(":").pop() as string)) as BackgroundTask;
		expect(typeof raw.retainUntil).toBe("string");

		const completed = Date.parse(task.dateCompleted as string);
		expect(Number(raw.retainUntil)).toBe(completed + 60000);
		expect(task.dateRetainUntil).toBe(new Date(completed + 60000).toISOString());
		// Once final, retainUntil replaces retainFor in the row, as the original stores it.
		expect(raw.retainFor ?? undefined).toBeUndefined();
	});

	test("pages of an order with ties repeat and skip rows; the store sorts by id last", async () => {
		// Without the shipped indexes the database sorts each page afresh (top-N heapsort), and the
		// connector's cursor is an OFFSET into that sort.
		const table = "tied_task";
		await pg().sql.unsafe(
			`CREATE TABLE ${table} (LIKE ${TABLE_NAME}); ALTER TABLE ${table} ADD PRIMARY KEY ("id")`
		);
		const storage = connectorFor(table);
		const now = new Date().toISOString();
		const ids: string[] = [];
		for (let i = 0; i < 40; i++) {
			const task = storedTask({
				type: "tied",
				status: TaskStatus.Success,
				dateCreated: now,
				dateModified: now
			});
			delete task.dateNextProcess;
			await storage.set(task);
			ids.push(task.id);
		}
		const seen: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await storage.query(
				{ property: "status", comparison: ComparisonOperator.Equals, value: TaskStatus.Success },
				[{ property: "dateCreated", sortDirection: SortDirection.Ascending }],
				undefined,
				cursor,
				7
			);
			seen.push(...page.entities.map(e => e.id as string));
			cursor = page.cursor;
		} while (cursor !== undefined);
		expect(seen.length).toBe(40);
		expect(new Set(seen).size).toBeLessThan(40);

		const { connector } = createConnector({ executionMode: "inline" }, storage);
		const listed: string[] = [];
		cursor = undefined;
		do {
			const page = await connector.query(
				undefined,
				TaskStatus.Success,
				"dateCreated",
				SortDirection.Ascending,
				cursor,
				7
			);
			listed.push(...page.entities.map(e => e.id.split(":").pop() as string));
			cursor = page.cursor;
		} while (cursor !== undefined);
		expect(listed).toEqual([...ids].sort());
	});

	test("a set leaves columns absent from the entity unchanged; the store writes every column", async () => {
		const storage = connectorFor(TABLE_NAME);
		const task = storedTask({ type: "stale", error: { name: "Error", message: "old attempt" } });
		await storage.set(task);
		const withoutError: BackgroundTask = { ...task, status: TaskStatus.Success };
		delete withoutError.error;
		delete withoutError.dateNextProcess;
		await storage.set(withoutError);
		const raw = await storage.get(task.id);
		expect(raw?.error).toEqual({ name: "Error", message: "old attempt" });
		expect(raw?.dateNextProcess).toBe(task.dateNextProcess);
		// The contract's retries test checks that a task succeeding after failures keeps no error.
	});

	test("JSON strings and booleans: the connector cannot read a string back and refuses a boolean", async () => {
		const storage = connectorFor(TABLE_NAME);
		const text = storedTask({ type: "scalar", payload: "hello" });
		await storage.set(text);
		expect(await rejection(storage.get(text.id))).toContain('"hello" is not valid JSON');
		expect(await rejection(storage.remove(text.id))).toContain('"hello" is not valid JSON');
		await pg().sql`DELETE FROM background_task WHERE "id" = ${text.id}`;
		const number = storedTask({ type: "scalar", payload: "42" });
		await storage.set(number);
		expect((await storage.get(number.id))?.payload).toBe(42);
		const flag = storedTask({ type: "scalar", payload: true });
		expect(await rejection(storage.set(flag))).toContain(
			'column "payload" is of type jsonb but expression is of type boolean'
		);
		// The workaround (the store writes such values JSON-encoded) is checked by the contract's
		// "any JSON value" test; here, what lands in the table.
		await pg().sql.unsafe(`TRUNCATE ${TABLE_NAME}`);
		const { connector } = createConnector({ executionMode: "inline" }, storage);
		const id = await connector.create("scalar", "hello");
		const rows = await pg()
			.sql`SELECT "payload" FROM background_task WHERE "id" = ${id.split(":").pop() as string}`;
		expect(rows[0].payload).toBe('"hello"');
		expect((await connector.get(id))?.payload).toBe("hello");
	});

	test("a row the connector cannot read does not stop its type: scans read only scheduling columns", async () => {
		const storage = connectorFor(TABLE_NAME);
		await pg().sql.unsafe(`TRUNCATE ${TABLE_NAME}`);
		// A finished task with a string result written by another writer (the original connector).
		const unreadable = storedTask({
			type: "unreadable",
			status: TaskStatus.Success,
			result: "done",
			retainFor: -1
		});
		delete unreadable.dateNextProcess;
		await storage.set(unreadable);
		expect(await rejection(storage.get(unreadable.id))).toContain('"done" is not valid JSON');

		// A task created while no instance runs reaches the next instance only through a scan.
		const { connector, start } = createConnector({ executionMode: "inline" }, storage);
		await connector.registerHandler("unreadable", CONTRACT_HANDLERS, "echo");
		const next = await connector.create("unreadable", { n: 1 }, { retainFor: -1 });
		await start();
		expect((await waitForStatus(connector, next, [TaskStatus.Success])).result).toEqual({
			echoed: { n: 1 }
		});
	});
});
