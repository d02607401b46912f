// The dead-letter of issue 22 (config.failedRetainFor) through the public API, on
// any backend: queueContract() calls deadLetterContract() for each backend it runs on.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { describe, expect, test } from "vitest";
import type {
	BackgroundTask,
	IEntityStorageBackgroundTaskConnectorConfig
} from "../../src/index.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { storageIdOf } from "../helpers/tasks.js";
import { CONTRACT_HANDLERS, type IStorageBackend } from "./storageContract.js";

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
		return createConnector({ executionMode, ...backend.config?.(storage), ...config }, storage);
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

		test("a bad failedRetainFor is rejected naming the field, and nothing is written", async () => {
			const { connector, storage } = await fresh();
			await connector.create("dl-bad", { n: 1 });
			const before = await stored(storage);
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
		});
	});
}
