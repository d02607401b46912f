// The dead-letter of issue 22 (config.failedRetainFor and retryFailed) through the public API, on
// any backend: queueContract() calls deadLetterContract() for each backend it runs on.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { describe, expect, test } from "vitest";
import type {
	BackgroundTask,
	EntityStorageBackgroundTaskConnector,
	IEntityStorageBackgroundTaskConnectorConfig
} from "../../src/index.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { storageIdOf } from "../helpers/tasks.js";
import { CONTRACT_HANDLERS, connectorOver, type IStorageBackend } from "./storageContract.js";

/**
 * How many attempts a failTimes handler counted in its counter file.
 * @param counter The counter file.
 * @returns The attempts.
 */
function attempts(counter: string): number {
	try {
		return readFileSync(counter, "utf8").split("\n").filter(Boolean).length;
	} catch {
		return 0;
	}
}

/**
 * Every stored task, as JSON sorted by id: to compare storage before and after a call.
 * @param storage The storage.
 * @returns The snapshot.
 */
async function stored(storage: IEntityStorageConnector<BackgroundTask>): Promise<string> {
	const tasks: BackgroundTask[] = [];
	let cursor: string | undefined;
	do {
		const page = await storage.query(undefined, undefined, undefined, cursor, 100);
		tasks.push(...(page.entities as BackgroundTask[]));
		cursor = page.cursor;
	} while (cursor);
	return JSON.stringify(tasks.sort((a, b) => a.id.localeCompare(b.id)));
}

/**
 * The statuses of tasks, in the order of the ids.
 * @param connector The connector.
 * @param ids The task ids.
 * @returns The statuses (undefined for a task that is gone).
 */
async function statuses(
	connector: EntityStorageBackgroundTaskConnector,
	ids: string[]
): Promise<(string | undefined)[]> {
	return Promise.all(ids.map(async id => (await connector.get(id))?.status));
}

/**
 * Define the dead-letter tests for a backend.
 * @param name The backend name, for the test titles.
 * @param backend The backend.
 * @param executionMode Where handlers run.
 * @param scratchFile A new scratch file name for a label.
 */
export function deadLetterContract(
	name: string,
	backend: IStorageBackend,
	executionMode: IEntityStorageBackgroundTaskConnectorConfig["executionMode"],
	scratchFile: (label: string) => string
): void {
	/**
	 * A connector over a storage of the backend.
	 * @param storage The storage.
	 * @param config Extra config.
	 * @returns The connector, its storage and start.
	 */
	function over(
		storage: IEntityStorageConnector<BackgroundTask>,
		config: IEntityStorageBackgroundTaskConnectorConfig
	): ReturnType<typeof createConnector> {
		return connectorOver(
			backend,
			{ executionMode, ...backend.config?.(storage), ...config },
			storage
		);
	}

	/**
	 * A connector over a fresh storage of the backend.
	 * @param config Extra config.
	 * @returns The connector, its storage and start.
	 */
	async function fresh(
		config: IEntityStorageBackgroundTaskConnectorConfig = {}
	): Promise<ReturnType<typeof createConnector>> {
		return over(await backend.fresh(), config);
	}

	describe(`dead-letter: ${name}`, () => {
		test("failedRetainFor -1 keeps a failed task created with retainFor 0, across a restart's sweep; a success is still removed", async () => {
			const { connector, storage, start } = await fresh({ failedRetainFor: -1 });
			await connector.registerHandler("dl-keep", CONTRACT_HANDLERS, "failTimes");
			await start();
			const failing = scratchFile("dl-keep-fail");
			const passing = scratchFile("dl-keep-pass");
			const failed = await connector.create("dl-keep", { counter: failing, failures: 100 });
			const succeeded = await connector.create("dl-keep", { counter: passing, failures: 0 });

			await waitForStatus(connector, failed, [TaskStatus.Failed]);
			const row = (await storage.get(storageIdOf(failed))) as BackgroundTask;
			expect(Number(row.retainUntil)).toBe(-1);
			// Its own retainFor stays, for a retry to give back.
			expect(Number(row.retainFor)).toBe(0);
			await waitFor(
				async () => attempts(passing) === 1 && (await connector.get(succeeded)) === undefined,
				10000,
				"the successful task with retainFor 0 to run and be removed"
			);

			// start() sweeps expired retained tasks: one kept for ever is not among them.
			await connector.stop("test");
			await connector.start("test");
			expect((await connector.get(failed))?.status).toBe(TaskStatus.Failed);
		});

		test("failedRetainFor n keeps a failed task n ms whatever its retainFor, then the sweep removes it", async () => {
			const { connector, storage, start } = await fresh({
				failedRetainFor: 300,
				cleanupInterval: 1000
			});
			await connector.registerHandler("dl-expire", CONTRACT_HANDLERS, "failTimes");
			await start();
			const failed = await connector.create(
				"dl-expire",
				{ counter: scratchFile("dl-expire"), failures: 100 },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, failed, [TaskStatus.Failed]);
			const row = (await storage.get(storageIdOf(failed))) as BackgroundTask;
			expect(Number(row.retainUntil)).toBe(Date.parse(row.dateModified) + 300);
			expect(Number(row.retainFor)).toBe(-1);
			await waitFor(
				async () => (await connector.get(failed)) === undefined,
				10000,
				"the sweep to remove the failed task"
			);
		});

		test("unset: a failed task with retainFor 0 is removed and one with -1 kept, as today", async () => {
			const { connector, storage, start } = await fresh();
			await connector.registerHandler("dl-today", CONTRACT_HANDLERS, "failTimes");
			await start();
			const counter = scratchFile("dl-today");
			const removed = await connector.create("dl-today", { counter, failures: 100 });
			const kept = await connector.create(
				"dl-today",
				{ counter, failures: 100 },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, kept, [TaskStatus.Failed]);
			await waitFor(
				async () => attempts(counter) === 2 && (await connector.get(removed)) === undefined,
				10000,
				"the failed task with retainFor 0 to be removed"
			);
			const row = (await storage.get(storageIdOf(kept))) as BackgroundTask;
			expect(Number(row.retainUntil)).toBe(-1);
			expect(row.retainFor ?? undefined).toBeUndefined();
		});

		test("retryFailed(type): only that type's failed tasks come back, counted, and run again with their own retainFor", async () => {
			const { connector, start } = await fresh({ failedRetainFor: -1 });
			await connector.registerHandler("dl-a", CONTRACT_HANDLERS, "failTimes", undefined, {
				concurrency: 3
			});
			await connector.registerHandler("dl-b", CONTRACT_HANDLERS, "failTimes");
			await start();
			// Each fails its first attempt and succeeds on the next; retainFor 0 (the default), so the
			// dead-letter keeps it failed and its success is removed.
			const counters = [1, 2, 3].map(() => scratchFile("dl-a"));
			const a = await Promise.all(
				counters.map(async counter => connector.create("dl-a", { counter, failures: 1 }))
			);
			const bCounter = scratchFile("dl-b");
			const b = await connector.create("dl-b", { counter: bCounter, failures: 1 });
			const waiting = await connector.create(
				"dl-a",
				{ counter: scratchFile("dl-a-waiting"), failures: 0 },
				{ startAfter: 3_600_000 }
			);
			for (const id of [...a, b]) {
				await waitForStatus(connector, id, [TaskStatus.Failed]);
			}
			const waitingBefore = await connector.get(waiting);

			expect(await connector.retryFailed("dl-a")).toBe(3);
			await waitFor(
				async () =>
					counters.every(counter => attempts(counter) === 2) &&
					(await statuses(connector, a)).every(status => status === undefined),
				10000,
				"the retried tasks to run again, succeed and be removed (retainFor 0)"
			);
			expect((await connector.get(b))?.status).toBe(TaskStatus.Failed);
			expect(attempts(bCounter)).toBe(1);
			expect(await connector.get(waiting)).toEqual(waitingBefore);
			expect(await connector.retryFailed("dl-a")).toBe(0);

			expect(await connector.retryFailed()).toBe(1);
			await waitFor(
				async () => attempts(bCounter) === 2 && (await connector.get(b)) === undefined,
				10000,
				"the other type's task to run again"
			);
			expect(await connector.retryFailed()).toBe(0);
		});

		test("retryFailed's limit bounds how many come back (no failedRetainFor needed)", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("dl-limit", CONTRACT_HANDLERS, "failTimes");
			await start();
			const ids: string[] = [];
			for (let i = 0; i < 3; i++) {
				ids.push(
					await connector.create(
						"dl-limit",
						{ counter: scratchFile("dl-limit"), failures: 1 },
						{ retainFor: -1 }
					)
				);
			}
			for (const id of ids) {
				await waitForStatus(connector, id, [TaskStatus.Failed]);
			}
			expect(await connector.retryFailed("dl-limit", { limit: 2 })).toBe(2);
			await waitFor(
				async () =>
					(await statuses(connector, ids)).filter(s => s === TaskStatus.Success).length === 2,
				10000,
				"two retried tasks to succeed"
			);
			expect((await statuses(connector, ids)).filter(s => s === TaskStatus.Failed)).toHaveLength(1);
			expect(await connector.retryFailed("dl-limit", { limit: 5 })).toBe(1);
		});

		test("retryFailed and dedupKey: of a key's failed tasks one comes back, none while the key is held", async () => {
			const { connector, start } = await fresh({ failedRetainFor: -1 });
			await connector.registerHandler("dl-dedup", CONTRACT_HANDLERS, "failTimes");
			await start();
			const counter = scratchFile("dl-dedup");
			const first = await connector.create(
				"dl-dedup",
				{ counter, failures: 100 },
				{ dedupKey: "k" }
			);
			await waitForStatus(connector, first, [TaskStatus.Failed]);
			const second = await connector.create(
				"dl-dedup",
				{ counter, failures: 100 },
				{ dedupKey: "k" }
			);
			expect(second).not.toBe(first);
			await waitForStatus(connector, second, [TaskStatus.Failed]);
			await connector.unregisterHandler("dl-dedup");

			expect(await connector.retryFailed("dl-dedup")).toBe(1);
			expect((await statuses(connector, [first, second])).sort()).toEqual([
				TaskStatus.Failed,
				TaskStatus.Pending
			]);
			// The key is held by the task that came back: the other stays failed.
			expect(await connector.retryFailed("dl-dedup")).toBe(0);
		});

		test("retryFailed of a paused type: its tasks come back pending and start only once it is resumed", async () => {
			const { connector, start } = await fresh({ failedRetainFor: -1, pollInterval: 60_000 });
			await connector.registerHandler("dl-paused", CONTRACT_HANDLERS, "failTimes");
			await connector.registerHandler("dl-paused-other", CONTRACT_HANDLERS, "echo");
			await start();
			const counter = scratchFile("dl-paused");
			const failed = await connector.create(
				"dl-paused",
				{ counter, failures: 1 },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, failed, [TaskStatus.Failed]);
			await connector.pause("dl-paused");

			expect(await connector.retryFailed("dl-paused")).toBe(1);
			// The scheduler is at work: a task of another type created now runs, and the retried
			// task of the paused type does not start meanwhile.
			const other = await connector.create("dl-paused-other", 1, { retainFor: -1 });
			await waitForStatus(connector, other, [TaskStatus.Success]);
			expect((await connector.get(failed))?.status).toBe(TaskStatus.Pending);
			expect(attempts(counter)).toBe(1);

			await connector.resume("dl-paused");
			await waitForStatus(connector, failed, [TaskStatus.Success]);
			expect(attempts(counter)).toBe(2);
		});

		test("bad input is rejected naming the field, and nothing is written", async () => {
			const { connector, storage, start } = await fresh({ failedRetainFor: -1 });
			await connector.registerHandler("dl-bad", CONTRACT_HANDLERS, "failTimes");
			await start();
			const failed = await connector.create("dl-bad", {
				counter: scratchFile("dl-bad"),
				failures: 100
			});
			await waitForStatus(connector, failed, [TaskStatus.Failed]);
			const before = await stored(storage);

			const calls: [string, () => Promise<number>][] = [
				["type", async () => connector.retryFailed("")],
				["type", async () => connector.retryFailed(42 as unknown as string)],
				["options", async () => connector.retryFailed("dl-bad", "all" as never)],
				["options.limit", async () => connector.retryFailed("dl-bad", { limit: 0 })],
				["options.limit", async () => connector.retryFailed(undefined, { limit: 1.5 })],
				["options.limit", async () => connector.retryFailed(undefined, { limit: "2" as never })]
			];
			for (const [property, call] of calls) {
				await expect(call(), property).rejects.toMatchObject({
					name: "ValidationError",
					properties: { validationFailures: [{ property }] }
				});
			}
			for (const value of [-2, 1.5, "60000"]) {
				let error: unknown;
				try {
					over(storage, { failedRetainFor: value as number });
				} catch (err) {
					error = err;
				}
				expect(error, String(value)).toMatchObject({
					name: "ValidationError",
					properties: { validationFailures: [{ property: "config.failedRetainFor" }] }
				});
			}
			expect(await stored(storage)).toBe(before);
			expect((await connector.get(failed))?.status).toBe(TaskStatus.Failed);
		});
	});
}
