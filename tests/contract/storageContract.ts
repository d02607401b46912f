// The storage contract: the behaviour tests that depend on storage, run through the public API
// against any IEntityStorageConnector<BackgroundTask>. Each backend's spec file calls
// storageContract() with a factory of fresh, empty storages; backend-specific workarounds are
// tested in that spec file.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { SortDirection } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { afterAll, describe, expect, test } from "vitest";
import type {
	BackgroundTask,
	EntityStorageBackgroundTaskConnector,
	IEntityStorageBackgroundTaskConnectorConfig
} from "../../src/index.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { storageIdOf } from "../helpers/tasks.js";

/**
 * The contract's handler module.
 */
export const CONTRACT_HANDLERS = new URL("./handlers.mjs", import.meta.url).href;

/**
 * A connector over a fresh storage of a backend, with extra config: how queueContract() gives the
 * contracts it calls (pauseContract, progressContract) their connectors.
 */
export type FreshConnector = (
	config?: IEntityStorageBackgroundTaskConnectorConfig
) => Promise<ReturnType<typeof createConnector>>;

/**
 * A storage backend under test.
 */
export interface IStorageBackend {
	/**
	 * A fresh storage holding no task, for one test.
	 */
	fresh: () => Promise<IEntityStorageConnector<BackgroundTask>>;

	/**
	 * Config for a connector over the given storage, when the connector reaches the backend by
	 * config rather than through the storage (the native PostgreSQL backend: the storage is then
	 * TWIN's connector on the same table, for the tests' direct reads and writes).
	 */
	config?: (
		storage: IEntityStorageConnector<BackgroundTask>
	) => IEntityStorageBackgroundTaskConnectorConfig;

	/**
	 * The storage as the tests read it themselves, beside the connector, when a read of theirs may
	 * land in the middle of one of the connector's writes and see something no caller of the
	 * connector can (the file connector: see file.spec.ts). The connector keeps the storage itself.
	 */
	testReads?: (
		storage: IEntityStorageConnector<BackgroundTask>
	) => IEntityStorageConnector<BackgroundTask>;
}

/**
 * A connector over a backend's storage, made by createConnector(), with the storage the tests
 * read (IStorageBackend.testReads) in place of the connector's own.
 * @param backend The backend.
 * @param config The connector's config.
 * @param storage The storage.
 * @returns The connector, the storage for the tests and start.
 */
export function connectorOver(
	backend: IStorageBackend,
	config: IEntityStorageBackgroundTaskConnectorConfig,
	storage: IEntityStorageConnector<BackgroundTask>
): ReturnType<typeof createConnector> {
	const made = createConnector(config, storage);
	return backend.testReads ? { ...made, storage: backend.testReads(storage) } : made;
}

/**
 * Inline execution keeps the suite light on the shared cores: storage is the subject here, the
 * worker pool has its own specs. The recovery test runs in a worker to cover a terminated attempt.
 */
const INLINE: IEntityStorageBackgroundTaskConnectorConfig = { executionMode: "inline" };

let entityCount = 0;

/**
 * A valid stored task, pending and due now, for tests that write to storage directly.
 * @param overrides Fields to set.
 * @returns A fresh entity.
 */
export function storedTask(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const now = new Date().toISOString();
	return {
		id: `${process.pid.toString(16)}${(++entityCount).toString(16)}`.padStart(32, "0"),
		type: "stored",
		threadId: "main",
		dateCreated: now,
		dateModified: now,
		dateNextProcess: now,
		status: TaskStatus.Pending,
		retainFor: 0,
		...overrides
	};
}

/**
 * Wait until the clock has moved to the next millisecond, so consecutive tasks get distinct
 * dateCreated values and sort orders are defined.
 */
async function nextMillisecond(): Promise<void> {
	const now = Date.now();
	await waitFor(() => Date.now() > now, 1000, "the clock to tick");
}

/**
 * Read every page of a query.
 * @param connector The connector.
 * @param args The query arguments before cursor.
 * @param pageSize The page size.
 * @returns The tasks in page order and the number of pages.
 */
async function queryAll(
	connector: EntityStorageBackgroundTaskConnector,
	args: Parameters<EntityStorageBackgroundTaskConnector["query"]>,
	pageSize: number
): Promise<{ tasks: IBackgroundTask[]; pages: number }> {
	const [type, status, sortProperty, sortDirection] = args;
	const tasks: IBackgroundTask[] = [];
	let cursor: string | undefined;
	let pages = 0;
	do {
		const page = await connector.query(type, status, sortProperty, sortDirection, cursor, pageSize);
		expect(page.entities.length).toBeLessThanOrEqual(pageSize);
		tasks.push(...page.entities);
		cursor = page.cursor;
		pages++;
		expect(pages).toBeLessThan(100);
	} while (cursor !== undefined);
	return { tasks, pages };
}

/**
 * Define the contract tests for a backend.
 * @param name The backend name, for the test titles.
 * @param backend The backend.
 * @param executionMode Where handlers run.
 */
export function storageContract(
	name: string,
	backend: IStorageBackend,
	executionMode: IEntityStorageBackgroundTaskConnectorConfig["executionMode"] = "inline"
): void {
	const scratch = mkdtempSync(join(tmpdir(), "twin-bg-contract-"));
	let fileCount = 0;
	const scratchFile = (label: string): string => join(scratch, `${label}-${++fileCount}`);

	afterAll(() => {
		rmSync(scratch, { recursive: true, force: true });
	});

	/**
	 * A connector over a fresh storage of the backend.
	 * @param config Extra config.
	 * @param storage The storage, when a test shares one between connectors.
	 * @returns The connector and start.
	 */
	async function fresh(
		config: IEntityStorageBackgroundTaskConnectorConfig = {},
		storage?: IEntityStorageConnector<BackgroundTask>
	): Promise<ReturnType<typeof createConnector>> {
		const store = storage ?? (await backend.fresh());
		return connectorOver(
			backend,
			{ ...INLINE, executionMode, ...backend.config?.(store), ...config },
			store
		);
	}

	describe(`storage contract: ${name}`, () => {
		test("create stores a pending task that get returns with its payload", async () => {
			const { connector } = await fresh();
			const payload = { text: "héllo", list: [1, 2.5, { deep: true }], nothing: null };
			const id = await connector.create("contract-create", payload, {
				retryCount: 3,
				retryInterval: 250,
				retainFor: 60000
			});
			expect(id).toMatch(/^background-task:entity-storage:[\da-f]{32}$/);
			const task = await connector.get(id);
			expect(task).toEqual({
				id: storageIdOf(id),
				type: "contract-create",
				threadId: "main",
				status: TaskStatus.Pending,
				dateCreated: expect.any(String),
				dateModified: task?.dateCreated,
				retriesRemaining: 3,
				retryInterval: 250,
				payload
			});
			expect(
				await connector.get("background-task:entity-storage:0123456789abcdef0123456789abcdef")
			).toBe(undefined);
		});

		test("payloads and results may be any JSON value, strings and booleans included", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("contract-json", CONTRACT_HANDLERS, "identity");
			await start();
			const values = ["hello", "42", "", true, false, 0, 7.5, [1, "a", null], { a: { b: [true] } }];
			const ids = [];
			for (const value of values) {
				ids.push(await connector.create("contract-json", value, { retainFor: -1 }));
			}
			for (const [i, id] of ids.entries()) {
				const task = await waitForStatus(connector, id, [TaskStatus.Success]);
				expect(task.payload, JSON.stringify(values[i])).toEqual(values[i]);
				expect(task.result, JSON.stringify(values[i])).toEqual(values[i]);
			}
			const listed = await queryAll(connector, ["contract-json"], 4);
			expect(listed.tasks.map(t => t.payload).sort()).toEqual([...values].sort());
		});

		test("query filters by type, by status and by both, across pages", async () => {
			const { connector } = await fresh();
			const a: string[] = [];
			const b: string[] = [];
			for (let i = 0; i < 5; i++) {
				a.push(await connector.create("contract-a", { i }, { retainFor: -1 }));
				b.push(await connector.create("contract-b", { i }, { retainFor: -1 }));
			}
			await connector.cancel(a[1]);
			await connector.cancel(a[3]);
			await connector.cancel(b[0]);

			// query gives the plain storage ids; create returned the URNs.
			const ids = (tasks: IBackgroundTask[]): string[] => tasks.map(t => t.id).sort();
			const plain = (urns: string[]): string[] => urns.map(storageIdOf).sort();
			const byType = await queryAll(connector, ["contract-a"], 2);
			expect(ids(byType.tasks)).toEqual(plain(a));
			expect(byType.pages).toBeGreaterThan(1);

			const cancelled = await queryAll(connector, [undefined, TaskStatus.Cancelled], 2);
			expect(ids(cancelled.tasks)).toEqual(plain([a[1], a[3], b[0]]));

			const both = await queryAll(connector, ["contract-a", TaskStatus.Pending], 2);
			expect(ids(both.tasks)).toEqual(plain([a[0], a[2], a[4]]));
			expect(
				both.tasks.every(t => t.type === "contract-a" && t.status === TaskStatus.Pending)
			).toBe(true);

			const none = await connector.query("contract-none");
			expect(none.entities).toEqual([]);
			expect(none.cursor).toBeUndefined();
		});

		test("query sorts both directions and the cursor round-trips", async () => {
			const { connector } = await fresh();
			const created: string[] = [];
			for (let i = 0; i < 7; i++) {
				await nextMillisecond();
				// query gives the plain storage id of the URN create returns.
				created.push(storageIdOf(await connector.create("contract-sort", { i })));
			}
			const ascending = await queryAll(
				connector,
				["contract-sort", undefined, "dateCreated", SortDirection.Ascending],
				3
			);
			expect(ascending.tasks.map(t => t.id)).toEqual(created);
			expect(ascending.pages).toBe(3);

			const descending = await queryAll(
				connector,
				["contract-sort", undefined, "dateCreated", SortDirection.Descending],
				3
			);
			expect(descending.tasks.map(t => t.id)).toEqual([...created].reverse());

			// The defaults: dateCreated, ascending.
			const first = await connector.query(
				"contract-sort",
				undefined,
				undefined,
				undefined,
				undefined,
				4
			);
			expect(first.entities.map(t => t.id)).toEqual(created.slice(0, 4));
			const second = await connector.query(
				"contract-sort",
				undefined,
				undefined,
				undefined,
				first.cursor,
				4
			);
			expect(second.entities.map(t => t.id)).toEqual(created.slice(4));
			expect(second.cursor).toBeUndefined();
		});

		test("cancel: a pending task becomes cancelled, retainFor 0 removes it, others are untouched", async () => {
			const { connector, start } = await fresh();
			const kept = await connector.create("contract-cancel", { k: 1 }, { retainFor: -1 });
			const dropped = await connector.create("contract-cancel", { k: 2 });
			await connector.cancel(kept);
			await connector.cancel(dropped);
			const task = await connector.get(kept);
			expect(task?.status).toBe(TaskStatus.Cancelled);
			expect(task?.dateCancelled).toEqual(expect.any(String));
			expect(task?.dateRetainUntil).toBeUndefined();
			expect(await connector.get(dropped)).toBeUndefined();

			await connector.registerHandler("contract-done", CONTRACT_HANDLERS, "echo");
			await start();
			const done = await connector.create("contract-done", { d: 1 }, { retainFor: -1 });
			const finished = await waitForStatus(connector, done, [TaskStatus.Success]);
			await connector.cancel(done);
			expect(await connector.get(done)).toEqual(finished);
		});

		test("retries: failures are recorded and retried until success, no stale retry fields remain", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("contract-flaky", CONTRACT_HANDLERS, "failTimes");
			await start();
			const counter = scratchFile("counter");
			const id = await connector.create(
				"contract-flaky",
				{ counter, failures: 2 },
				{ retryCount: 3, retryInterval: 1, retainFor: -1 }
			);
			const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
			expect(task.status).toBe(TaskStatus.Success);
			expect(task.result).toEqual({ attempts: 3 });
			// A successful task carries none of its failed attempts' fields.
			expect(task.error).toBeUndefined();
			expect(task.retriesRemaining).toBeUndefined();
			expect(task.retryInterval).toBeUndefined();
			expect(task.dateCompleted).toEqual(task.dateModified);
		});

		test("retries: a task that keeps failing ends failed with its last error", async () => {
			const { connector, start } = await fresh();
			const states: string[] = [];
			await connector.registerHandler(
				"contract-broken",
				CONTRACT_HANDLERS,
				"failTimes",
				async t => {
					states.push(t.status);
				}
			);
			await start();
			const id = await connector.create(
				"contract-broken",
				{ counter: scratchFile("counter"), failures: 100 },
				{ retryCount: 2, retryInterval: 1, retainFor: -1 }
			);
			const task = await waitForStatus(connector, id, [TaskStatus.Failed]);
			expect(task.error?.message).toContain("attempt 3 failed on purpose");
			expect(task.retriesRemaining).toBe(0);
			expect(task.dateCompleted).toEqual(expect.any(String));
			await waitFor(() => states.length === 6, 5000, "six state changes");
			expect(states).toEqual([
				"processing",
				"pending",
				"processing",
				"pending",
				"processing",
				"failed"
			]);
		});

		test("retry: a failed task runs again, a task waiting for its retry runs at once", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("contract-retry", CONTRACT_HANDLERS, "failTimes");
			await start();
			const failedOnce = await connector.create(
				"contract-retry",
				{ counter: scratchFile("counter"), failures: 1 },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, failedOnce, [TaskStatus.Failed]);
			await connector.retry(failedOnce);
			const retried = await waitForStatus(connector, failedOnce, [TaskStatus.Success]);
			expect(retried.result).toEqual({ attempts: 2 });
			expect(retried.error).toBeUndefined();

			const waiting = await connector.create(
				"contract-retry",
				{ counter: scratchFile("counter"), failures: 1 },
				{ retryCount: 1, retryInterval: 600000, retainFor: -1 }
			);
			await waitFor(
				async () => (await connector.get(waiting))?.error !== undefined,
				10000,
				"the first attempt to fail"
			);
			expect((await connector.get(waiting))?.status).toBe(TaskStatus.Pending);
			await connector.retry(waiting);
			expect((await waitForStatus(connector, waiting, [TaskStatus.Success])).result).toEqual({
				attempts: 2
			});
		});

		test("remove: a pending task is gone, a running task is not written back", async () => {
			const { connector, start } = await fresh();
			const pending = await connector.create("contract-unhandled", { p: 1 }, { retainFor: -1 });
			await connector.remove(pending);
			expect(await connector.get(pending)).toBeUndefined();

			const settled: string[] = [];
			await connector.registerHandler(
				"contract-running",
				CONTRACT_HANDLERS,
				"waitForRelease",
				async t => {
					settled.push(t.status);
				}
			);
			await start();
			const release = scratchFile("release");
			const running = await connector.create(
				"contract-running",
				{ started: scratchFile("started"), release },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, running, [TaskStatus.Processing]);
			await connector.remove(running);
			writeFileSync(release, "go");
			await waitFor(
				() => settled.includes(TaskStatus.Success),
				10000,
				"the running task to finish"
			);
			expect(await connector.get(running)).toBeUndefined();
		});

		test("retain: 0 removes on completion, -1 keeps forever, n keeps until completion + n", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("contract-retain", CONTRACT_HANDLERS, "echo");
			await start();
			const forever = await connector.create("contract-retain", { r: -1 }, { retainFor: -1 });
			const minute = await connector.create("contract-retain", { r: 60000 }, { retainFor: 60000 });
			const finished: string[] = [];
			await connector.registerHandler("contract-retain-0", CONTRACT_HANDLERS, "echo", async t => {
				finished.push(t.status);
			});
			const removed = await connector.create("contract-retain-0", { r: 0 });

			const keptForever = await waitForStatus(connector, forever, [TaskStatus.Success]);
			expect(keptForever.dateRetainUntil).toBeUndefined();
			expect(keptForever.result).toEqual({ echoed: { r: -1 } });

			const keptMinute = await waitForStatus(connector, minute, [TaskStatus.Success]);
			expect(keptMinute.dateRetainUntil).toBe(
				new Date(Date.parse(keptMinute.dateCompleted as string) + 60000).toISOString()
			);
			const listed = await connector.query("contract-retain", TaskStatus.Success);
			expect(listed.entities.find(t => t.id === storageIdOf(minute))?.dateRetainUntil).toBe(
				keptMinute.dateRetainUntil
			);

			await waitFor(
				() => finished.includes(TaskStatus.Success),
				10000,
				"the retainFor 0 task to finish"
			);
			expect(await connector.get(removed)).toBeUndefined();
		});

		test("sweep: start removes final tasks whose retain date passed and keeps the rest", async () => {
			const storage = await backend.fresh();
			const first = await fresh({}, storage);
			await first.connector.registerHandler("contract-sweep", CONTRACT_HANDLERS, "echo");
			await first.start();
			const short = await first.connector.create("contract-sweep", { s: 1 }, { retainFor: 1 });
			const long = await first.connector.create("contract-sweep", { s: 2 }, { retainFor: 600000 });
			const forever = await first.connector.create("contract-sweep", { s: 3 }, { retainFor: -1 });
			const cancelled = await first.connector.create(
				"contract-unhandled",
				{ s: 4 },
				{ retainFor: 1 }
			);
			await first.connector.cancel(cancelled);
			const shortDone = await waitForStatus(first.connector, short, [TaskStatus.Success]);
			await waitForStatus(first.connector, long, [TaskStatus.Success]);
			await waitForStatus(first.connector, forever, [TaskStatus.Success]);
			await first.connector.stop("test");
			const expiry = Date.parse(shortDone.dateRetainUntil as string);
			await waitFor(() => Date.now() > expiry + 1, 1000, "the short retain date to pass");

			const second = await fresh({}, storage);
			await second.start();
			expect(await second.connector.get(short)).toBeUndefined();
			expect(await second.connector.get(cancelled)).toBeUndefined();
			expect((await second.connector.get(long))?.status).toBe(TaskStatus.Success);
			expect((await second.connector.get(forever))?.status).toBe(TaskStatus.Success);
		});

		test("recovery: a task interrupted while processing runs again on the next start", async () => {
			const storage = await backend.fresh();
			// A worker, so the stop terminates the attempt as a killed process would.
			const config: IEntityStorageBackgroundTaskConnectorConfig = {
				executionMode: "worker",
				maxWorkers: 1,
				shutdownTimeout: 0
			};
			const started = scratchFile("started");
			const release = scratchFile("release");
			const first = await fresh(config, storage);
			await first.connector.registerHandler(
				"contract-recover",
				CONTRACT_HANDLERS,
				"waitForRelease"
			);
			await first.start();
			const id = await first.connector.create(
				"contract-recover",
				{ started, release },
				{ retainFor: -1 }
			);
			// Running: its handler has started (on a shared database a task is processing as soon as
			// a node claims it into its local queue, before it runs; one not started yet is given
			// back at stop).
			await waitFor(() => existsSync(started), 10000, "the handler to start");
			await first.connector.stop("test");
			expect((await first.connector.get(id))?.status).toBe(TaskStatus.Processing);

			writeFileSync(release, "go");
			const second = await fresh(config, storage);
			await second.connector.registerHandler(
				"contract-recover",
				CONTRACT_HANDLERS,
				"waitForRelease"
			);
			await second.start();
			const task = await waitForStatus(second.connector, id, [TaskStatus.Success], 15000);
			expect(task.result).toEqual({ released: true });
		});

		test("start picks up a backlog stored while no node ran, beside retained final tasks and an interrupted one", async () => {
			const storage = await backend.fresh();
			const type = "contract-backlog";
			// Final tasks of the type, kept: they have no dateNextProcess, which some stores sort
			// first (MySQL, MariaDB) and some leave out of the sort's index (DynamoDB).
			const first = await fresh({}, storage);
			await first.connector.registerHandler(type, CONTRACT_HANDLERS, "echo");
			await first.start();
			const kept = await Promise.all(
				[1, 2, 3].map(async i => first.connector.create(type, { kept: i }, { retainFor: -1 }))
			);
			for (const id of kept) {
				await waitForStatus(first.connector, id, [TaskStatus.Success], 15000);
			}
			await first.connector.stop("test");

			// While no node runs: tasks created, and one left processing by a node that died.
			const backlog: string[] = [];
			for (let i = 0; i < 5; i++) {
				backlog.push(await first.connector.create(type, { backlog: i }, { retainFor: -1 }));
			}
			const interrupted = storedTask({
				type,
				status: TaskStatus.Processing,
				retainFor: -1,
				dateModified: new Date(Date.now() - 60000).toISOString()
			});
			await storage.set(interrupted);

			const second = await fresh({}, storage);
			await second.connector.registerHandler(type, CONTRACT_HANDLERS, "echo");
			await second.start();
			for (const [i, id] of backlog.entries()) {
				const task = await waitForStatus(second.connector, id, [TaskStatus.Success], 15000);
				expect(task.result).toEqual({ echoed: { backlog: i } });
			}
			const recovered = await waitForStatus(
				second.connector,
				`background-task:entity-storage:${interrupted.id}`,
				[TaskStatus.Success],
				15000
			);
			expect(recovered.result).toEqual({ echoed: null });
			for (const [i, id] of kept.entries()) {
				expect((await second.connector.get(id))?.result).toEqual({ echoed: { kept: i + 1 } });
			}
		});

		test("many tasks created at once all run exactly once with concurrency", async () => {
			const { connector, start } = await fresh({ concurrency: 4 });
			const seen = new Map<string, number>();
			await connector.registerHandler("contract-many", CONTRACT_HANDLERS, "echo", async t => {
				if (t.status === TaskStatus.Success) {
					seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
				}
			});
			await start();
			const ids = await Promise.all(
				Array.from({ length: 40 }, async (_, i) =>
					connector.create("contract-many", { i }, { retainFor: -1 })
				)
			);
			await waitFor(() => seen.size === ids.length, 20000, "every task to succeed");
			expect([...seen.values()].every(count => count === 1)).toBe(true);
			const stored = await queryAll(connector, ["contract-many", TaskStatus.Success], 15);
			expect(stored.tasks.map(t => t.id).sort()).toEqual(ids.map(storageIdOf).sort());
		});
	});
}
