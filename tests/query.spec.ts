// query(): filters, sort properties and directions, the default sort and cursor paging, against
// the real in-memory storage. Dates are made distinct deterministically: tasks are written
// straight into storage with chosen dates, or created under a fake Date.
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { SortDirection } from "@twin.org/entity";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { BackgroundTask, EntityStorageBackgroundTaskConnector } from "../src/index.js";
import { createConnector } from "./helpers/harness.js";
import { seed, storageIdOf, taskEntity } from "./helpers/tasks.js";

const BASE = Date.parse("2026-02-01T00:00:00.000Z");

/**
 * The ISO date n seconds after BASE.
 * @param n Seconds.
 * @returns The date.
 */
function at(n: number): string {
	return new Date(BASE + n * 1000).toISOString();
}

/**
 * The id query() gives for a stored task: the plain storage id, as the original (only create()
 * returns the URN).
 * @param task The task.
 * @returns The id.
 */
function idOf(task: BackgroundTask): string {
	return task.id;
}

/**
 * The ids of a page.
 * @param page The page.
 * @param page.entities The tasks.
 * @returns The ids.
 */
function ids(page: { entities: IBackgroundTask[] }): string[] {
	return page.entities.map(t => t.id);
}

/**
 * Read every page of a query.
 * @param connector The connector.
 * @param args The query arguments before the cursor.
 * @param pageSize The page size.
 * @returns Every page in order.
 */
async function allPages(
	connector: EntityStorageBackgroundTaskConnector,
	args: Parameters<EntityStorageBackgroundTaskConnector["query"]>,
	pageSize: number
): Promise<{ entities: IBackgroundTask[]; cursor?: string }[]> {
	const pages: { entities: IBackgroundTask[]; cursor?: string }[] = [];
	let cursor: string | undefined;
	do {
		const page = await connector.query(args[0], args[1], args[2], args[3], cursor, pageSize);
		pages.push(page);
		cursor = page.cursor;
		expect(pages.length).toBeLessThan(100);
	} while (cursor !== undefined);
	return pages;
}

afterEach(() => {
	vi.useRealTimers();
});

describe("filters", () => {
	/**
	 * Three types times three statuses, one task each, plus the connector.
	 * @returns The connector and the tasks.
	 */
	async function grid(): Promise<{
		connector: EntityStorageBackgroundTaskConnector;
		tasks: BackgroundTask[];
	}> {
		const { connector, storage } = createConnector();
		const tasks: BackgroundTask[] = [];
		let n = 0;
		for (const type of ["alpha", "beta", "gamma"]) {
			for (const status of [TaskStatus.Pending, TaskStatus.Success, TaskStatus.Failed]) {
				n++;
				tasks.push(
					taskEntity({
						type,
						status,
						dateCreated: at(n),
						dateModified: at(n),
						dateNextProcess: status === TaskStatus.Pending ? at(n) : undefined,
						dateCompleted: status === TaskStatus.Pending ? undefined : at(n),
						retainFor: -1
					})
				);
			}
		}
		await seed(storage, ...tasks);
		return { connector, tasks };
	}

	test("no filter returns every task", async () => {
		const { connector, tasks } = await grid();
		expect(ids(await connector.query())).toEqual(tasks.map(idOf));
	});

	test("by type returns exactly that type's tasks", async () => {
		const { connector, tasks } = await grid();
		const page = await connector.query("beta");
		expect(ids(page)).toEqual(tasks.filter(t => t.type === "beta").map(idOf));
		expect(page.entities.every(t => t.type === "beta")).toBe(true);
	});

	test("by status returns exactly the tasks in that status", async () => {
		const { connector, tasks } = await grid();
		const page = await connector.query(undefined, TaskStatus.Failed);
		expect(ids(page)).toEqual(tasks.filter(t => t.status === TaskStatus.Failed).map(idOf));
		expect(page.entities).toHaveLength(3);
	});

	test("by type and status returns the one task matching both", async () => {
		const { connector, tasks } = await grid();
		const page = await connector.query("gamma", TaskStatus.Success);
		const expected = tasks.filter(t => t.type === "gamma" && t.status === TaskStatus.Success);
		expect(expected).toHaveLength(1);
		expect(ids(page)).toEqual(expected.map(idOf));
		expect(page.cursor).toBeUndefined();
	});

	test("a filter matching nothing returns an empty page and no cursor", async () => {
		const { connector } = await grid();
		expect(await connector.query("delta")).toEqual({ entities: [], cursor: undefined });
		expect((await connector.query("alpha", TaskStatus.Cancelled)).entities).toEqual([]);
		expect((await connector.query(undefined, TaskStatus.Processing)).entities).toEqual([]);
	});

	test("results are mapped tasks with plain storage ids and every key of the mapping", async () => {
		const { connector, tasks } = await grid();
		const [first] = (await connector.query("alpha", TaskStatus.Pending)).entities;
		expect(first).toStrictEqual({
			id: tasks[0].id,
			type: "alpha",
			threadId: "main",
			dateCreated: at(1),
			dateModified: at(1),
			dateCompleted: undefined,
			dateCancelled: undefined,
			dateRetainUntil: undefined,
			retryInterval: undefined,
			retriesRemaining: undefined,
			status: TaskStatus.Pending,
			payload: undefined,
			result: undefined,
			error: undefined
		});
	});
});

describe("sorting", () => {
	// Every task has every sortable field, each in a different order, so each sort property gives
	// its own order. (The in-memory connector orders tasks lacking the sort property arbitrarily.)
	//        status       created modified completed
	// A      success      1       4        3
	// B      pending      2       1        5
	// C      cancelled    3       5        1
	// D      failed       4       2        4
	// E      processing   5       3        2
	const rows: [string, TaskStatus, number, number, number][] = [
		["A", TaskStatus.Success, 1, 4, 3],
		["B", TaskStatus.Pending, 2, 1, 5],
		["C", TaskStatus.Cancelled, 3, 5, 1],
		["D", TaskStatus.Failed, 4, 2, 4],
		["E", TaskStatus.Processing, 5, 3, 2]
	];

	/**
	 * The five tasks, written in an order matching none of the sorts.
	 * @returns The connector and a function from a page to its letters.
	 */
	async function five(): Promise<{
		connector: EntityStorageBackgroundTaskConnector;
		letters: (page: { entities: IBackgroundTask[] }) => string[];
	}> {
		const { connector, storage } = createConnector();
		const byId = new Map<string, string>();
		const tasks = rows.map(([letter, status, created, modified, completed]) => {
			const task = taskEntity({
				type: "sorted",
				status,
				dateCreated: at(created),
				dateModified: at(modified),
				dateCompleted: at(completed),
				retainFor: -1
			});
			byId.set(idOf(task), letter);
			return task;
		});
		// Insertion order D, B, E, A, C.
		await seed(storage, tasks[3], tasks[1], tasks[4], tasks[0], tasks[2]);
		return { connector, letters: page => page.entities.map(t => byId.get(t.id) as string) };
	}

	const orders: [
		NonNullable<Parameters<EntityStorageBackgroundTaskConnector["query"]>[2]>,
		string
	][] = [
		["dateCreated", "ABCDE"],
		["dateModified", "BDEAC"],
		["dateCompleted", "CEADB"],
		["status", "CDBEA"]
	];

	test.each(orders)("by %s ascending", async (sortProperty, expected) => {
		const { connector, letters } = await five();
		const page = await connector.query(undefined, undefined, sortProperty, SortDirection.Ascending);
		expect(letters(page).join("")).toBe(expected);
	});

	test.each(orders)("by %s descending", async (sortProperty, expected) => {
		const { connector, letters } = await five();
		const page = await connector.query(
			undefined,
			undefined,
			sortProperty,
			SortDirection.Descending
		);
		expect(letters(page).join("")).toBe([...expected].reverse().join(""));
	});

	test("the sort property defaults to dateCreated and the direction to ascending", async () => {
		const { connector, letters } = await five();
		expect(letters(await connector.query()).join("")).toBe("ABCDE");
		expect(
			letters(
				await connector.query(undefined, undefined, undefined, SortDirection.Descending)
			).join("")
		).toBe("EDCBA");
		expect(letters(await connector.query(undefined, undefined, "dateModified")).join("")).toBe(
			"BDEAC"
		);
	});

	test("sorting applies within a type filter", async () => {
		const { connector, storage } = createConnector();
		const [first, , third] = await seed(
			storage,
			taskEntity({ type: "x", dateCreated: at(3) }),
			taskEntity({ type: "y", dateCreated: at(2) }),
			taskEntity({ type: "x", dateCreated: at(1) })
		);
		expect(
			ids(await connector.query("x", undefined, "dateCreated", SortDirection.Descending))
		).toEqual([first, third].map(storageIdOf));
		expect(ids(await connector.query("x"))).toEqual([third, first].map(storageIdOf));
	});

	test("tasks created through the API come back oldest first by default, newest first descending", async () => {
		vi.useFakeTimers({ toFake: ["Date"] });
		const { connector } = createConnector();
		const created: string[] = [];
		for (let i = 0; i < 5; i++) {
			vi.setSystemTime(BASE + i * 1000);
			created.push(await connector.create("api", { i }));
		}
		expect(ids(await connector.query())).toEqual(created.map(storageIdOf));
		expect(
			ids(await connector.query("api", TaskStatus.Pending, undefined, SortDirection.Descending))
		).toEqual(created.map(storageIdOf).reverse());
	});
});

describe("cursor paging", () => {
	/**
	 * Write n tasks with distinct creation dates (written in reverse, so insertion order is not
	 * the sort order).
	 * @param storage The storage.
	 * @param n How many.
	 * @param make Fields of task i.
	 * @returns The tasks in dateCreated order.
	 */
	async function many(
		storage: IEntityStorageConnector<BackgroundTask>,
		n: number,
		make: (i: number) => Partial<BackgroundTask> = () => ({})
	): Promise<BackgroundTask[]> {
		const tasks = Array.from({ length: n }, (_, i) =>
			taskEntity({ type: "paged", dateCreated: at(i), dateModified: at(i), ...make(i) })
		);
		await seed(storage, ...[...tasks].reverse());
		return tasks;
	}

	test("pages through every task exactly once, in order, across more than three pages", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 10);
		const pages = await allPages(connector, [], 3);

		expect(pages.map(p => p.entities.length)).toEqual([3, 3, 3, 1]);
		for (const page of pages.slice(0, -1)) {
			expect(typeof page.cursor).toBe("string");
		}
		expect(pages[pages.length - 1].cursor).toBeUndefined();
		const collected = pages.flatMap(ids);
		expect(new Set(collected).size).toBe(collected.length);
		expect(collected).toEqual(tasks.map(idOf));
	});

	test("an exact multiple of the page size ends without an empty extra page", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 9);
		const pages = await allPages(connector, [], 3);
		expect(pages.flatMap(ids)).toEqual(tasks.map(idOf));
		expect(pages.every(p => p.entities.length > 0)).toBe(true);
		expect(pages.length).toBeGreaterThanOrEqual(3);
	});

	test("pages descending by dateCreated", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 7);
		const pages = await allPages(
			connector,
			[undefined, undefined, "dateCreated", SortDirection.Descending],
			2
		);
		expect(pages).toHaveLength(4);
		expect(pages.flatMap(ids)).toEqual(tasks.map(idOf).reverse());
	});

	test("pages by another sort property (dateModified)", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 8, i => ({ dateModified: at(100 - i) }));
		const pages = await allPages(connector, [undefined, undefined, "dateModified"], 3);
		expect(pages.length).toBeGreaterThanOrEqual(3);
		expect(pages.flatMap(ids)).toEqual(tasks.map(idOf).reverse());
	});

	test("pages with a type filter collect exactly the tasks of that type", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 20, i => ({ type: i % 2 === 0 ? "even" : "odd" }));
		const pages = await allPages(connector, ["even"], 3);
		expect(pages.length).toBeGreaterThanOrEqual(3);
		const collected = pages.flatMap(ids);
		expect(new Set(collected).size).toBe(collected.length);
		expect(collected).toEqual(tasks.filter(t => t.type === "even").map(idOf));
	});

	test("pages with a status filter collect exactly the tasks in that status", async () => {
		const { connector, storage } = createConnector();
		const tasks = await many(storage, 20, i =>
			i % 3 === 0
				? {
						status: TaskStatus.Success,
						dateNextProcess: undefined,
						dateCompleted: at(i),
						retainFor: -1
					}
				: {}
		);
		const pages = await allPages(connector, [undefined, TaskStatus.Pending], 4);
		expect(pages.length).toBeGreaterThanOrEqual(3);
		expect(pages.flatMap(ids)).toEqual(
			tasks.filter(t => t.status === TaskStatus.Pending).map(idOf)
		);
	});

	test("pages with both filters collect exactly the matching tasks, never an empty page before the end", async () => {
		const { connector, storage } = createConnector();
		// The first six tasks are all of the other type, so whole storage pages hold no match.
		const tasks = await many(storage, 30, i => ({
			type: i < 6 || i % 2 === 1 ? "other" : "wanted",
			...(i % 5 === 0
				? {
						status: TaskStatus.Failed,
						dateNextProcess: undefined,
						dateCompleted: at(i),
						retainFor: -1
					}
				: {})
		}));
		const expected = tasks
			.filter(t => t.type === "wanted" && t.status === TaskStatus.Pending)
			.map(idOf);
		expect(expected.length).toBeGreaterThanOrEqual(6);

		const pages = await allPages(connector, ["wanted", TaskStatus.Pending], 2);
		for (const page of pages) {
			expect(page.entities.length).toBeLessThanOrEqual(2);
			if (page.cursor !== undefined) {
				expect(page.entities.length).toBeGreaterThan(0);
			}
			for (const task of page.entities) {
				expect(task.type).toBe("wanted");
				expect(task.status).toBe(TaskStatus.Pending);
			}
		}
		expect(pages.length).toBeGreaterThanOrEqual(3);
		const collected = pages.flatMap(ids);
		expect(new Set(collected).size).toBe(collected.length);
		expect(collected).toEqual(expected);
	});

	test("the cursor round-trips: asking again with the same cursor gives the same page", async () => {
		const { connector, storage } = createConnector();
		await many(storage, 6);
		const first = await connector.query(undefined, undefined, undefined, undefined, undefined, 2);
		const second = await connector.query(
			undefined,
			undefined,
			undefined,
			undefined,
			first.cursor,
			2
		);
		const again = await connector.query(
			undefined,
			undefined,
			undefined,
			undefined,
			first.cursor,
			2
		);
		expect(ids(again)).toEqual(ids(second));
		expect(ids(second)).not.toEqual(ids(first));
	});
});
