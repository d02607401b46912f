// The strict storage double (tests/helpers/strictStorage.ts): each profile's rules throw, and its
// behaviours (null order, dropped entities, paging, write semantics, read-back values) are those
// docs/storage-backends.md records for the real connector.
import { ComparisonOperator, LogicalOperator, SortDirection } from "@twin.org/entity";
import { describe, expect, test } from "vitest";
import { initSchema, type BackgroundTask } from "../src/index.js";
import {
	ScyllaLong,
	StrictEntityStorageConnector,
	type IStrictStorageOptions,
	type StrictProfile
} from "./helpers/strictStorage.js";

initSchema();

const ASC = SortDirection.Ascending;
const DESC = SortDirection.Descending;

let count = 0;

/**
 * A valid task entity.
 * @param overrides Fields to set.
 * @returns The entity.
 */
function task(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const id = (++count).toString(16).padStart(32, "0");
	return {
		id,
		type: "t",
		threadId: "main",
		dateCreated: `2026-01-01T00:00:00.${String(count % 1000).padStart(3, "0")}Z`,
		dateModified: "2026-01-01T00:00:00.000Z",
		status: "pending",
		...overrides
	} as BackgroundTask;
}

/**
 * A fresh double.
 * @param profile The profile.
 * @param options More options.
 * @returns The double.
 */
function strict(
	profile: StrictProfile,
	options: Partial<IStrictStorageOptions> = {}
): StrictEntityStorageConnector<BackgroundTask> {
	return new StrictEntityStorageConnector<BackgroundTask>({ profile, ...options });
}

/**
 * Store tasks.
 * @param storage The storage.
 * @param tasks The tasks.
 * @returns The tasks.
 */
async function put(
	storage: StrictEntityStorageConnector<BackgroundTask>,
	...tasks: BackgroundTask[]
): Promise<BackgroundTask[]> {
	for (const t of tasks) {
		await storage.set(t);
	}
	return tasks;
}

const byType = (value: string): { property: "type"; comparison: "equals"; value: string } => ({
	property: "type",
	comparison: ComparisonOperator.Equals,
	value
});

describe("strict storage double", () => {
	test("CLASS_NAME is the real connector's, getSchema the registered schema, reads are copies", async () => {
		const names = {
			mongodb: "MongoDbEntityStorageConnector",
			cosmosdb: "CosmosDbEntityStorageConnector",
			firestore: "FirestoreEntityStorageConnector",
			scylladb: "ScyllaDBTableConnector",
			dynamodb: "DynamoDbEntityStorageConnector",
			mysql: "MySqlEntityStorageConnector"
		};
		for (const [profile, name] of Object.entries(names)) {
			const storage = strict(profile as StrictProfile);
			expect(storage.CLASS_NAME).toBe(name);
			expect(storage.getSchema().type).toBe("BackgroundTask");
		}
		const storage = strict("cosmosdb");
		const [t] = await put(storage, task({ payload: { list: [1] } }));
		(t.payload as { list: number[] }).list.push(2);
		const read = (await storage.get(t.id)) as BackgroundTask;
		expect(read.payload).toEqual({ list: [1] });
		(read.payload as { list: number[] }).list.push(3);
		expect((await storage.get(t.id))?.payload).toEqual({ list: [1] });
		await expect(storage.set({ ...task(), extra: 1 } as never)).rejects.toThrow(
			/invalidEntityKeys/
		);
		await expect(storage.query(undefined, undefined, undefined, undefined, 0)).rejects.toThrow(
			"strict cosmosdb: page size must be a positive integer"
		);
	});

	describe("mongodb", () => {
		test("$set merges: absent properties keep their value, undefined becomes null; reads carry _id", async () => {
			const storage = strict("mongodb");
			const [t] = await put(storage, task({ error: { name: "E", message: "m" }, retainFor: 5 }));
			await storage.set({
				...t,
				status: "success",
				error: undefined,
				retainFor: undefined
			} as never);
			const { retainFor, error, ...rest } = t;
			await storage.set({ ...rest, dateNextProcess: "x" } as never);
			const read = (await storage.get(t.id)) as unknown as { [key: string]: unknown };
			expect(read._id).toMatch(/^[\da-f]{24}$/);
			expect(read.error).toBeNull();
			expect(read.retainFor).toBeNull();
			expect(read.status).toBe("pending");
			expect(read.dateNextProcess).toBe("x");
			expect(retainFor).toBe(5);
			expect(error).toBeDefined();
			const page = await storage.query(undefined, undefined, ["id"]);
			expect(Object.keys(page.entities[0]).sort()).toEqual(["_id", "id"]);
		});

		test("null and missing sort first ascending, last descending; any number of keys", async () => {
			const storage = strict("mongodb");
			await put(
				storage,
				task({ id: "a".repeat(32), dateNextProcess: "2026-02-01" }),
				task({ id: "b".repeat(32) }),
				task({ id: "c".repeat(32), dateNextProcess: "2026-01-01" })
			);
			const ids = async (dir: SortDirection): Promise<string[]> =>
				(
					await storage.query(undefined, [
						{ property: "dateNextProcess", sortDirection: dir },
						{ property: "id", sortDirection: ASC }
					])
				).entities.map(e => (e.id as string)[0]);
			expect(await ids(ASC)).toEqual(["b", "c", "a"]);
			expect(await ids(DESC)).toEqual(["a", "c", "b"]);
		});

		test("ties come back in another order per query, so offset pages over ties repeat and skip", async () => {
			const storage = strict("mongodb");
			await put(storage, ...Array.from({ length: 12 }, () => task({ dateCreated: "same" })));
			const orders = new Set<string>();
			for (let i = 0; i < 5; i++) {
				const page = await storage.query(undefined, [
					{ property: "dateCreated", sortDirection: ASC }
				]);
				orders.add(page.entities.map(e => e.id).join());
			}
			expect(orders.size).toBeGreaterThan(1);
		});

		test("offset cursor after every full page, the last one may be empty", async () => {
			const storage = strict("mongodb");
			await put(storage, task(), task(), task(), task());
			const first = await storage.query(undefined, undefined, undefined, undefined, 2);
			expect(first.cursor).toBe("2");
			const second = await storage.query(undefined, undefined, undefined, first.cursor, 2);
			expect(second.entities).toHaveLength(2);
			expect(second.cursor).toBe("4");
			expect(await storage.query(undefined, undefined, undefined, second.cursor, 2)).toEqual({
				entities: [],
				cursor: undefined
			});
		});

		test("rules: NotIncludes, a group without logicalOperator", async () => {
			const storage = strict("mongodb");
			await expect(
				storage.query({ property: "type", comparison: ComparisonOperator.NotIncludes, value: "x" })
			).rejects.toThrow("strict mongodb: NotIncludes condition");
			await expect(storage.query({ conditions: [byType("a"), byType("b")] })).rejects.toThrow(
				"strict mongodb: condition group without logicalOperator"
			);
			await put(storage, task({ type: "a" }), task({ type: "b" }));
			const either = await storage.query({
				conditions: [byType("a"), byType("b")],
				logicalOperator: LogicalOperator.Or
			});
			expect(either.entities).toHaveLength(2);
		});
	});

	describe("cosmosdb", () => {
		test("rules: one sort key, only flagged properties, one comparison per property, In on numbers", async () => {
			const storage = strict("cosmosdb");
			await expect(
				storage.query(undefined, [
					{ property: "dateCreated", sortDirection: ASC },
					{ property: "id", sortDirection: ASC }
				])
			).rejects.toThrow(
				"strict cosmosdb: sort on more than one property (the connector throws sortSingle)"
			);
			await expect(
				storage.query(undefined, [{ property: "status", sortDirection: ASC }])
			).rejects.toThrow(
				"strict cosmosdb: sort on status, which is not primary, secondary or sortDirection-flagged"
			);
			await expect(
				storage.query({
					conditions: [byType("a"), byType("b")],
					logicalOperator: LogicalOperator.Or
				})
			).rejects.toThrow("strict cosmosdb: two comparisons on type");
			await expect(
				storage.query({ property: "priority", comparison: ComparisonOperator.In, value: [1, 2] })
			).rejects.toThrow("strict cosmosdb: In on the number property priority");
			await expect(storage.query(undefined, undefined, ["value" as never])).rejects.toThrow(
				"strict cosmosdb: projection of value"
			);
		});

		test("missing values are kept and sort first ascending, last descending; set replaces; continuation", async () => {
			const storage = strict("cosmosdb");
			const [a] = await put(
				storage,
				task({ id: "a".repeat(32), dateNextProcess: "2026-02-01", retainFor: 1 }),
				task({ id: "b".repeat(32) }),
				task({ id: "c".repeat(32), dateNextProcess: "2026-01-01" })
			);
			const ids = async (dir: SortDirection): Promise<string[]> =>
				(
					await storage.query(undefined, [{ property: "dateNextProcess", sortDirection: dir }])
				).entities.map(e => (e.id as string)[0]);
			expect(await ids(ASC)).toEqual(["b", "c", "a"]);
			expect(await ids(DESC)).toEqual(["a", "c", "b"]);

			await storage.set({ ...a, retainFor: undefined, error: undefined } as never);
			expect(Object.keys((await storage.get(a.id)) as object)).not.toContain("retainFor");

			const first = await storage.query(undefined, undefined, undefined, undefined, 2);
			expect(first.entities).toHaveLength(2);
			const second = await storage.query(undefined, undefined, undefined, first.cursor, 2);
			expect(second.entities).toHaveLength(1);
			expect(second.cursor).toBeUndefined();
		});
	});

	describe("firestore", () => {
		test("set refuses undefined anywhere and arrays in arrays", async () => {
			const storage = strict("firestore");
			await expect(storage.set({ ...task(), retryInterval: undefined } as never)).rejects.toThrow(
				"strict firestore: undefined value in field retryInterval"
			);
			await expect(storage.set(task({ payload: [[1]] }))).rejects.toThrow(
				"strict firestore: array inside an array in field payload.0"
			);
			await expect(
				storage.query({ conditions: [byType("a")], logicalOperator: LogicalOperator.Or })
			).rejects.toThrow("strict firestore: Or condition group");
		});

		test("orderBy drops documents without the field; null sorts first; a removed cursor document restarts paging", async () => {
			const storage = strict("firestore");
			await put(
				storage,
				task({ id: "a".repeat(32), dateNextProcess: "2026-02-01" }),
				task({ id: "b".repeat(32) }),
				task({ id: "c".repeat(32), dateNextProcess: "2026-01-01" }),
				task({ id: "d".repeat(32), dateNextProcess: null as never })
			);
			const sorted = await storage.query(undefined, [
				{ property: "dateNextProcess", sortDirection: ASC }
			]);
			expect(sorted.entities.map(e => (e.id as string)[0])).toEqual(["d", "c", "a"]);

			const first = await storage.query(undefined, undefined, ["id"], undefined, 2);
			expect(first.cursor).toBe(`BackgroundTask/${"b".repeat(32)}`);
			await storage.remove("b".repeat(32));
			const again = await storage.query(undefined, undefined, ["id"], first.cursor, 2);
			expect(again.entities.map(e => (e.id as string)[0])).toEqual(["a", "c"]);
		});
	});

	describe("dynamodb", () => {
		test("rules: one sort key on an indexed property, no reserved words in a projection", async () => {
			const storage = strict("dynamodb");
			await expect(
				storage.query(undefined, [
					{ property: "dateCreated", sortDirection: ASC },
					{ property: "id", sortDirection: ASC }
				])
			).rejects.toThrow(
				"strict dynamodb: sort on more than one property (the connector throws sortSingle)"
			);
			await expect(
				storage.query(undefined, [{ property: "status", sortDirection: ASC }])
			).rejects.toThrow("sortNotIndexed");
			await expect(storage.query(undefined, undefined, ["id", "type", "status"])).rejects.toThrow(
				"strict dynamodb: projection of the reserved word type"
			);
		});

		test("Limit before the filter: short and empty pages with a cursor; the GSI drops items without the key", async () => {
			const storage = strict("dynamodb");
			await put(
				storage,
				...Array.from({ length: 6 }, (_, i) =>
					task({
						type: i % 3 === 0 ? "x" : "y",
						dateNextProcess: i < 4 ? `2026-01-0${i + 1}` : undefined
					})
				)
			);
			const pages: number[] = [];
			let cursor: string | undefined;
			do {
				const page = await storage.query(byType("x"), undefined, undefined, cursor, 2);
				pages.push(page.entities.length);
				cursor = page.cursor;
			} while (cursor);
			expect(pages).toEqual([1, 1, 0, 0]);
			const due = await storage.query(undefined, [
				{ property: "dateNextProcess", sortDirection: ASC }
			]);
			expect(due.entities).toHaveLength(4);
		});
	});

	describe("scylladb", () => {
		test("rules: no sort but on the clustering column, conditions only on keys or indexes, unquoted projection", async () => {
			const storage = strict("scylladb");
			await expect(
				storage.query(undefined, [{ property: "dateCreated", sortDirection: ASC }])
			).rejects.toThrow("strict scylladb: sort on dateCreated");
			await expect(storage.query(byType("a"))).rejects.toThrow(
				"strict scylladb: condition on type, neither a key nor an indexed column"
			);
			await expect(
				storage.query({
					property: "retainUntil",
					comparison: ComparisonOperator.GreaterThan,
					value: 0
				})
			).rejects.toThrow("strict scylladb: condition on retainUntil");
			await expect(storage.query(undefined, undefined, ["id", "dateNextProcess"])).rejects.toThrow(
				"strict scylladb: projection of the camelCase column dateNextProcess"
			);
			const indexed = strict("scylladb", { scyllaIndexes: ["type"] });
			await put(indexed, task({ type: "a" }), task({ type: "b" }));
			expect((await indexed.query(byType("a"))).entities).toHaveLength(1);
		});

		test("object columns take only strings; reads drop falsy values, give Date and Long; undefined keeps the old value", async () => {
			const storage = strict("scylladb");
			await expect(storage.set(task({ payload: { a: 1 } }))).rejects.toThrow(
				"strict scylladb: object value in the object column payload"
			);
			const [t] = await put(
				storage,
				task({
					payload: "text",
					retriesRemaining: 0,
					retainUntil: 1795817080438,
					error: "e" as never
				})
			);
			const read = (await storage.get(t.id)) as unknown as { [key: string]: unknown };
			expect(read.retriesRemaining).toBeUndefined();
			expect(read.dateCreated).toBeInstanceOf(Date);
			expect(read.retainUntil).toBeInstanceOf(ScyllaLong);
			expect((read.retainUntil as ScyllaLong).toNumber()).toBe(1795817080438);
			await storage.set({ ...t, error: undefined, status: "success" } as never);
			expect(((await storage.get(t.id)) as unknown as { error: unknown }).error).toBe("e");

			await storage.set({ ...t, threadId: "other" });
			expect(await storage.get(t.id)).toBeUndefined();
			expect(storage.raw()).toHaveLength(2);
		});
	});

	describe("mysql", () => {
		test("MariaDB: object columns read back as JSON text; NULL first ascending; an empty sort array fails", async () => {
			const storage = strict("mysql");
			const [t] = await put(
				storage,
				task({
					id: "a".repeat(32),
					payload: { a: 1 },
					dateNextProcess: "2026-01-01",
					retryInterval: 123456.789
				}),
				task({ id: "b".repeat(32), payload: "hello" })
			);
			const read = (await storage.get(t.id)) as unknown as { [key: string]: unknown };
			expect(read.payload).toBe('{"a":1}');
			expect(read.retryInterval).toBe(123457);
			expect(read.error).toBeNull();
			expect(((await storage.get("b".repeat(32))) as unknown as { payload: unknown }).payload).toBe(
				'"hello"'
			);
			const sorted = await storage.query(
				undefined,
				[{ property: "dateNextProcess", sortDirection: ASC }],
				["id"]
			);
			expect(sorted.entities.map(e => (e.id as string)[0])).toEqual(["b", "a"]);
			await expect(storage.query(undefined, [])).rejects.toThrow("strict mysql: empty sort array");

			const mysql = strict("mysql", { mysqlServer: "mysql" });
			await put(mysql, t);
			expect((await mysql.get(t.id))?.payload).toEqual({ a: 1 });
		});
	});
});
