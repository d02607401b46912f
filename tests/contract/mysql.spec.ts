// The storage contract on @twin.org/entity-storage-connector-mysql against a throw-away MariaDB
// server started from the machine's binaries (tests/setup/mariadb.ts), on a table made from the
// shipped definition (docs/background-task.mysql.sql) and emptied for each test; and one test per
// behaviour of that connector version that matters to the store. If the server cannot start,
// every test fails with the reason: the suite is never skipped.
import { TaskStatus } from "@twin.org/background-task-models";
import { ComparisonOperator, LogicalOperator, SortDirection } from "@twin.org/entity";
import { beforeEach, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import {
	createMySqlStorage,
	MYSQL_TABLE_NAME,
	mySqlConnector,
	useMariaDb,
	type ITestMariaDb
} from "../setup/mariadb.js";
import { queueContract } from "./queueContract.js";
import { storageContract, storedTask, type IStorageBackend } from "./storageContract.js";

const mariaDb = useMariaDb();
let server: ITestMariaDb | undefined;
let shared: ReturnType<typeof mySqlConnector> | undefined;
let tableCount = 0;

// Started by the first test (a failure fails each test with the reason), stopped after the file.
beforeEach(async () => {
	server = await mariaDb();
}, 90000);

/**
 * The running server.
 * @returns The server.
 */
function db(): ITestMariaDb {
	if (!server) {
		throw new Error("MariaDB server not started");
	}
	return server;
}

/**
 * A new table from the shipped definition, for one behaviour test.
 * @returns Its connector.
 */
async function freshStorage(): Promise<ReturnType<typeof mySqlConnector>> {
	return createMySqlStorage(db(), `behaviour_task_${++tableCount}`);
}

/**
 * The type of each column of a table.
 * @param table The table.
 * @returns Column name to column type.
 */
async function columnTypes(table: string): Promise<{ [column: string]: string }> {
	const [rows] = await db().sql.query(
		"SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		[db().database, table]
	);
	return Object.fromEntries((rows as { name: string; type: string }[]).map(r => [r.name, r.type]));
}

const BACKEND: IStorageBackend = {
	fresh: async () => {
		// One connector (one connection) over the shipped table, emptied for each test.
		await db().sql.query(`TRUNCATE TABLE \`${MYSQL_TABLE_NAME}\``);
		shared ??= mySqlConnector(db());
		return shared;
	}
};

storageContract("mysql", BACKEND);
queueContract("mysql", BACKEND);
storageContract("mysql (worker mode)", BACKEND, "worker");
queueContract("mysql (worker mode)", BACKEND, "worker");

describe("mysql connector behaviours", () => {
	test("the test table is the shipped definition: BIGINT retainUntil, DOUBLE numbers, binary collation", async () => {
		expect(await columnTypes(MYSQL_TABLE_NAME)).toMatchObject({
			retainUntil: "bigint(20)",
			retryInterval: "double",
			retriesRemaining: "double",
			retainFor: "double",
			// MariaDB's JSON is LONGTEXT with a JSON_VALID check.
			payload: "longtext",
			dateNextProcess: "varchar(64)"
		});
		const [rows] = await db().sql.query(
			"SELECT TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			[db().database, MYSQL_TABLE_NAME]
		);
		expect((rows as { c: string }[])[0].c).toBe("utf8mb4_bin");
	});

	test("rows without dateNextProcess sort first ascending and last descending (NULLs are lowest)", async () => {
		const storage = await freshStorage();
		const due = storedTask({ type: "due" });
		const final = storedTask({ type: "final", status: TaskStatus.Success });
		delete final.dateNextProcess;
		await storage.set(due);
		await storage.set(final);
		const order = async (sortDirection: SortDirection): Promise<string[]> =>
			(
				await storage.query(undefined, [{ property: "dateNextProcess", sortDirection }])
			).entities.map(e => e.id as string);
		expect(await order(SortDirection.Ascending)).toEqual([final.id, due.id]);
		expect(await order(SortDirection.Descending)).toEqual([due.id, final.id]);
	});

	test("object columns come back as JSON text, absent properties as null", async () => {
		const storage = await freshStorage();
		const task = storedTask({ type: "json", payload: { x: [1, 2.5], s: "héllo" } });
		await storage.set(task);
		const raw = (await storage.get(task.id)) as unknown as { [key: string]: unknown };
		expect(raw.payload).toBe('{"x":[1,2.5],"s":"héllo"}');
		expect(raw.result).toBeNull();
		expect(raw.dateCompleted).toBeNull();
		// Scalars are written JSON-encoded too (the connector stringifies object columns).
		const text = storedTask({ type: "json", payload: "hello" });
		await storage.set(text);
		expect((await storage.get(text.id))?.payload).toBe('"hello"');
		const listed = await storage.query({
			property: "id",
			comparison: ComparisonOperator.Equals,
			value: task.id
		});
		expect(listed.entities[0].payload).toBe('{"x":[1,2.5],"s":"héllo"}');
	});

	test("two conditions, several sort properties and a projection with status and type all work", async () => {
		const storage = await freshStorage();
		const tasks = [
			storedTask({ type: "a" }),
			storedTask({ type: "a", status: TaskStatus.Cancelled }),
			storedTask({ type: "b" })
		];
		for (const task of tasks) {
			await storage.set(task);
		}
		const page = await storage.query(
			{
				conditions: [
					{ property: "type", comparison: ComparisonOperator.Equals, value: "a" },
					{ property: "status", comparison: ComparisonOperator.Equals, value: TaskStatus.Pending }
				],
				logicalOperator: LogicalOperator.And
			},
			[
				{ property: "dateCreated", sortDirection: SortDirection.Ascending },
				{ property: "id", sortDirection: SortDirection.Descending }
			],
			["id", "status", "type"]
		);
		expect(page.entities).toEqual([{ id: tasks[0].id, status: TaskStatus.Pending, type: "a" }]);
	});

	test("a set leaves columns absent from the entity unchanged", async () => {
		const storage = await freshStorage();
		const task = storedTask({ type: "stale", error: { name: "Error", message: "old attempt" } });
		await storage.set(task);
		const withoutError: BackgroundTask = { ...task, status: TaskStatus.Success };
		delete withoutError.error;
		delete withoutError.dateNextProcess;
		await storage.set(withoutError);
		const raw = await storage.get(task.id);
		expect(raw?.status).toBe(TaskStatus.Success);
		expect(raw?.error).toBe('{"name":"Error","message":"old attempt"}');
		expect(raw?.dateNextProcess).toBe(task.dateNextProcess);
	});

	test("its bootstrap makes numbers FLOAT (86400001 reads back 86400000) and strings case-insensitive LONGTEXT", async () => {
		const table = "bootstrapped_task";
		const storage = mySqlConnector(db(), table);
		expect(await storage.bootstrap()).toBe(true);
		expect(await columnTypes(table)).toMatchObject({
			id: "longtext",
			type: "longtext",
			retainFor: "float",
			retryInterval: "float",
			retainUntil: "bigint(20)",
			payload: "longtext"
		});
		const task = storedTask({ type: "Case", retainFor: 86400001 });
		await storage.set(task);
		expect((await storage.get(task.id))?.retainFor).toBe(86400000);
		const other = await storage.query({
			property: "type",
			comparison: ComparisonOperator.Equals,
			value: "case"
		});
		expect(other.entities.map(e => e.id)).toEqual([task.id]);

		// The shipped definition keeps both.
		const shipped = await freshStorage();
		await shipped.set(task);
		expect((await shipped.get(task.id))?.retainFor).toBe(86400001);
		expect(
			(
				await shipped.query({
					property: "type",
					comparison: ComparisonOperator.Equals,
					value: "case"
				})
			).entities
		).toEqual([]);
	});
});
