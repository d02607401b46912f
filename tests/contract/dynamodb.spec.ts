// The storage contract on @twin.org/entity-storage-connector-dynamodb against dynalite (an
// in-memory DynamoDB, the npm dev dependency) started by tests/setup/dynalite.ts, with a new table
// made by the connector's own bootstrap for each test; and one test per behaviour of that
// connector version that matters to the store. If the server cannot start, every test fails with
// the reason: the suite is never skipped.
import { DynamoDB } from "@aws-sdk/client-dynamodb";
import { TaskStatus } from "@twin.org/background-task-models";
import { ComparisonOperator, SortDirection } from "@twin.org/entity";
import { beforeEach, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { rejection } from "../helpers/errors.js";
import {
	createDynamoDbStorage,
	DYNAMODB_REGION,
	freshTableName,
	useDynalite,
	type ITestDynalite
} from "../setup/dynalite.js";
import { queueContract } from "./queueContract.js";
import { storageContract, storedTask, type IStorageBackend } from "./storageContract.js";

const dynalite = useDynalite();
let server: ITestDynalite | undefined;

// Started by the first test (a failure fails each test with the reason), stopped after the file.
beforeEach(async () => {
	server = await dynalite();
}, 90000);

/**
 * The running server.
 * @returns The server.
 */
function dyn(): ITestDynalite {
	if (!server) {
		throw new Error("dynalite not started");
	}
	return server;
}

/**
 * Store tasks, in order (their ids, and so the table's order, increase).
 * @param storage The storage.
 * @param tasks The tasks.
 */
async function setAll(
	storage: Awaited<ReturnType<typeof createDynamoDbStorage>>,
	tasks: BackgroundTask[]
): Promise<void> {
	for (const task of tasks) {
		await storage.set(task);
	}
}

const BACKEND: IStorageBackend = {
	// A new table per test: bootstrapping one takes about 50 ms on dynalite.
	fresh: async () => createDynamoDbStorage(dyn())
};

storageContract("dynamodb", BACKEND);
queueContract("dynamodb", BACKEND);
storageContract("dynamodb (worker mode)", BACKEND, "worker");
queueContract("dynamodb (worker mode)", BACKEND, "worker");

describe("dynamodb connector behaviours", () => {
	test("the bootstrap keys the table by partitionId and id, with one index per sortable or secondary property", async () => {
		const tableName = freshTableName();
		await createDynamoDbStorage(dyn(), tableName);
		const client = new DynamoDB({
			endpoint: dyn().endpoint,
			region: DYNAMODB_REGION,
			credentials: { accessKeyId: "x", secretAccessKey: "x" }
		});
		try {
			const { Table } = await client.describeTable({ TableName: tableName });
			expect(Table?.KeySchema).toEqual([
				{ AttributeName: "partitionId", KeyType: "HASH" },
				{ AttributeName: "id", KeyType: "RANGE" }
			]);
			expect(Table?.GlobalSecondaryIndexes?.map(i => i.IndexName).sort()).toEqual([
				"dateCreatedIndex",
				"dateModifiedIndex",
				"dateNextProcessIndex",
				"threadIdIndex",
				"typeIndex"
			]);
		} finally {
			client.destroy();
		}
	});

	test("a query with two sort properties throws sortSingle; sorting by a property without index throws sortNotIndexed", async () => {
		const storage = await createDynamoDbStorage(dyn());
		await storage.set(storedTask());
		expect(
			await rejection(
				storage.query(undefined, [
					{ property: "dateCreated", sortDirection: SortDirection.Ascending },
					{ property: "id", sortDirection: SortDirection.Ascending }
				])
			)
		).toBe(
			"dynamoDbEntityStorageConnector.queryFailed <- dynamoDbEntityStorageConnector.sortSingle"
		);
		expect(
			await rejection(
				storage.query(undefined, [{ property: "status", sortDirection: SortDirection.Ascending }])
			)
		).toBe(
			"dynamoDbEntityStorageConnector.queryFailed <- dynamoDbEntityStorageConnector.sortNotIndexed"
		);
		// One sort property with an index works.
		const sorted = await storage.query(undefined, [
			{ property: "dateCreated", sortDirection: SortDirection.Descending }
		]);
		expect(sorted.entities.length).toBe(1);
	});

	test("a projection naming status or type fails: reserved words the connector does not escape", async () => {
		const storage = await createDynamoDbStorage(dyn());
		const task = storedTask({ type: "projected" });
		await storage.set(task);
		expect(await rejection(storage.query(undefined, undefined, ["id", "status"]))).toBe(
			"dynamoDbEntityStorageConnector.queryFailed <- Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status"
		);
		expect(await rejection(storage.query(undefined, undefined, ["id", "type"]))).toBe(
			"dynamoDbEntityStorageConnector.queryFailed <- Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: type"
		);
		// Names that are not reserved work, and only they come back.
		const page = await storage.query(undefined, undefined, ["id", "dateCreated", "threadId"]);
		expect(page.entities).toEqual([
			{ id: task.id, dateCreated: task.dateCreated, threadId: task.threadId }
		]);
	});

	test("a condition on a non-key property filters each page after its limit: short and empty pages with a cursor", async () => {
		const storage = await createDynamoDbStorage(dyn());
		const others = Array.from({ length: 6 }, () => storedTask({ type: "other" }));
		const wanted = Array.from({ length: 4 }, () => storedTask({ type: "wanted" }));
		// Table order is id order: the six others first, then the wanted ones.
		await setAll(storage, [...others, ...wanted]);
		const sizes: number[] = [];
		const found: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await storage.query(
				{ property: "type", comparison: ComparisonOperator.Equals, value: "wanted" },
				undefined,
				undefined,
				cursor,
				3
			);
			sizes.push(page.entities.length);
			found.push(...page.entities.map(e => e.id as string));
			cursor = page.cursor;
		} while (cursor !== undefined);
		// Each page reads 3 items, then drops those that do not match; a page that read exactly 3
		// items has a cursor, even when nothing follows.
		expect(sizes).toEqual([0, 0, 3, 1]);
		expect(found).toEqual(wanted.map(t => t.id));
	});

	test("sorting by dateNextProcess leaves out tasks without one (the index is sparse)", async () => {
		const storage = await createDynamoDbStorage(dyn());
		const due = storedTask({ type: "due" });
		const final = storedTask({ type: "final", status: TaskStatus.Success });
		delete final.dateNextProcess;
		await setAll(storage, [due, final]);
		const sorted = await storage.query(undefined, [
			{ property: "dateNextProcess", sortDirection: SortDirection.Ascending }
		]);
		expect(sorted.entities.map(e => e.id)).toEqual([due.id]);
		const unsorted = await storage.query();
		expect(unsorted.entities.map(e => e.id)).toEqual([due.id, final.id]);
	});

	test("a set replaces the whole item; any JSON payload and numbers round-trip as they were", async () => {
		const storage = await createDynamoDbStorage(dyn());
		const task = storedTask({
			type: "replaced",
			error: { name: "Error", message: "old attempt" },
			retainUntil: Date.now() + 86400001,
			retainFor: 86400001,
			payload: { text: "héllo", list: [1, 2.5, { deep: true }], nothing: null }
		});
		await storage.set(task);
		expect(await storage.get(task.id)).toEqual(task);
		const withoutError: BackgroundTask = { ...task, status: TaskStatus.Success };
		delete withoutError.error;
		delete withoutError.dateNextProcess;
		await storage.set(withoutError);
		const raw = await storage.get(task.id);
		expect(raw?.error).toBeUndefined();
		expect(raw?.dateNextProcess).toBeUndefined();
		for (const payload of ["hello", "", true, 0, [1, "a", null]]) {
			const scalar = storedTask({ type: "scalar", payload });
			await storage.set(scalar);
			expect((await storage.get(scalar.id))?.payload).toEqual(payload);
		}
	});
});
