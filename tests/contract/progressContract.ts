// Progress (issue 22, item 5) through the public API, on any backend: queueContract() calls
// progressContract(), so every backend's contract spec runs it, in the execution mode it runs the
// queue features in. The progress values written are counted at the connector's task source,
// whatever the backend.
import { existsSync, writeFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { beforeAll, describe, expect, test } from "vitest";
import type { ITaskSource } from "../../src/contracts/ITaskSource.js";
import type {
	BackgroundTask,
	EntityStorageBackgroundTaskConnector,
	IBackgroundTaskWithProgress
} from "../../src/index.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { storageIdOf } from "../helpers/tasks.js";
import { CONTRACT_HANDLERS, type FreshConnector } from "./storageContract.js";

/**
 * The progress handlers' module (they import the package, so they live apart from the others).
 */
const PROGRESS_HANDLERS = new URL("./progressHandlers.mjs", import.meta.url).href;

/**
 * Record the progress values the connector's task source writes (the writes its fence let
 * through), from now on, and every write it was asked for with how it ended (for a failure's
 * message).
 * @param connector The connector.
 * @returns The values written, in order, and the attempts.
 */
function progressWrites(connector: EntityStorageBackgroundTaskConnector): {
	values: unknown[];
	attempts: string[];
} {
	const source = (connector as unknown as { _source: ITaskSource })._source;
	const write = source.writeProgress.bind(source);
	const written = { values: [] as unknown[], attempts: [] as string[] };
	source.writeProgress = async (id: string, progress: unknown): Promise<boolean> => {
		// Recorded when asked, so a write that never ends shows too.
		const attempt = written.attempts.length;
		const asked = `${JSON.stringify(progress)} at ${Math.round(performance.now())} ms`;
		written.attempts.push(`${asked}: pending`);
		try {
			const done = await write(id, progress);
			written.attempts[attempt] = `${asked}: ${done} at ${Math.round(performance.now())} ms`;
			if (done) {
				written.values.push(progress);
			}
			return done;
		} catch (err) {
			written.attempts[attempt] = `${asked}: threw ${String(err)}`;
			throw err;
		}
	};
	return written;
}

/**
 * Define the progress tests for a backend, inside queueContract().
 * @param name The backend name, for the test titles.
 * @param fresh A connector over a fresh storage of the backend, with extra config.
 * @param scratchFile A new file path in the contract's scratch directory.
 */
export function progressContract(
	name: string,
	fresh: FreshConnector,
	scratchFile: (label: string) => string
): void {
	describe(`progress: ${name}`, () => {
		// The handlers' module loads the whole package; loaded here first, its import is not part
		// of any test's time. In whole runs the first inline call of a handler in a process, which
		// imports it, has twice not begun within 20 s (docs/testing.md).
		beforeAll(async () => {
			await import(PROGRESS_HANDLERS);
		}, 60000);

		/**
		 * Start a task of the progress handler, which reports 50 steps at once, then waits for its
		 * release file and reports { step: "done" }.
		 * @param fail Throw after the last report.
		 * @returns The connector, the task's id, its release file, the progress values written while
		 * it ran and the tasks the state-change callback saw.
		 */
		async function progressTask(fail = false): Promise<{
			connector: EntityStorageBackgroundTaskConnector;
			storage: IEntityStorageConnector<BackgroundTask>;
			id: string;
			release: string;
			started: string;
			written: ReturnType<typeof progressWrites>;
			notified: IBackgroundTaskWithProgress[];
		}> {
			const { connector, storage, start } = await fresh();
			const written = progressWrites(connector);
			const notified: IBackgroundTaskWithProgress[] = [];
			await connector.registerHandler(
				"queue-progress",
				PROGRESS_HANDLERS,
				"progress",
				async task => {
					notified.push(task);
				}
			);
			await start();
			const started = scratchFile("progress-started");
			const release = scratchFile("progress-release");
			const id = await connector.create(
				"queue-progress",
				{ steps: 50, started, release, fail },
				{ retainFor: -1 }
			);
			return { connector, storage, id, release, written, notified, started };
		}

		test("50 reports at once: the first written at once, the last about a second later, visible through get() while the task runs", async () => {
			const { connector, id, release, written, notified, started } = await progressTask();
			// Measured from the handler's reports: the first import of its module (which loads the
			// package) is not what is measured, and in a loaded run it alone can take seconds.
			await waitFor(() => existsSync(started), 30000, "the handler to report its 50 steps");
			// The first report is written at once, the other 49 coalesced into one write of the
			// last a second later: two writes, not fifty.
			await waitFor(
				() => written.values.length >= 2,
				10000,
				"the coalesced progress to be written"
			).catch(async (err: Error) => {
				const task = await connector.get(id);
				throw new Error(
					`${err.message}; writes asked: ${JSON.stringify(written.attempts)}, now ${Math.round(performance.now())} ms; handler started: ${existsSync(started)}; task: ${JSON.stringify(task)}`
				);
			});
			const running = await connector.get(id);
			expect(running?.status).toBe(TaskStatus.Processing);
			expect(running?.progress).toEqual({ step: 50 });
			expect(written.values).toEqual([{ step: 1 }, { step: 50 }]);

			writeFileSync(release, "go");
			const task = await waitForStatus(connector, id, [TaskStatus.Success]);
			// The callback hears of the outcome after it is stored: wait for it too.
			await waitFor(() => notified.length >= 2, 10000, "the outcome's callback");
			expect(task.progress).toEqual({ step: "done" });
			expect(task.result).toEqual({ steps: 50 });
			const listed = (await connector.query("queue-progress")).entities;
			expect(listed.map(t => (t as IBackgroundTaskWithProgress).progress)).toEqual([
				{ step: "done" }
			]);
			// No callback for the intermediate writes: the claim's, then the outcome's with the
			// last value.
			expect(notified.map(t => t.status)).toEqual([TaskStatus.Processing, TaskStatus.Success]);
			expect(notified[0].progress).toBeUndefined();
			expect(notified[1].progress).toEqual({ step: "done" });
		});

		test("the last value reported before a failure is stored with it", async () => {
			const { connector, id, release, notified } = await progressTask(true);
			await waitFor(async () => (await connector.get(id))?.progress, 10000, "the first write");
			writeFileSync(release, "go");
			const task = await waitForStatus(connector, id, [TaskStatus.Failed]);
			await waitFor(
				() => notified.at(-1)?.status === TaskStatus.Failed,
				10000,
				"the outcome's callback"
			);
			expect(task.progress).toEqual({ step: "done" });
			expect(task.error?.message).toBe("failing after the progress on purpose");
			expect(notified.at(-1)?.progress).toEqual({ step: "done" });
		});

		test("a handler that reports nothing leaves no progress property; bad values are refused naming value", async () => {
			const { connector, storage, start } = await fresh();
			const written = progressWrites(connector);
			await connector.registerHandler("queue-no-progress", CONTRACT_HANDLERS, "echo");
			await connector.registerHandler("queue-bad-progress", PROGRESS_HANDLERS, "badProgress");
			await start();
			const plain = await connector.create("queue-no-progress", { n: 1 }, { retainFor: -1 });
			const bad = await connector.create("queue-bad-progress", { n: 2 }, { retainFor: -1 });
			const plainTask = await waitForStatus(connector, plain, [TaskStatus.Success]);
			expect(Object.keys(plainTask)).not.toContain("progress");
			// Absent from the row too (NULL in a column that a table has for it).
			const row = (await storage.get(storageIdOf(plain))) as BackgroundTask;
			expect(row.progress ?? undefined).toBeUndefined();

			const badTask = await waitForStatus(connector, bad, [TaskStatus.Success]);
			const errors = badTask.result as { name: string; message: string }[];
			expect(errors).toHaveLength(5);
			for (const error of errors) {
				expect(error.name).toBe("TypeError");
				expect(error.message).toMatch(/^reportProgress: value /);
			}
			expect(errors[0].message).toContain("undefined");
			expect(errors[1].message).toContain("function");
			expect(errors[2].message).toContain("bigint");
			expect(errors[3].message).toContain("circular");
			expect(errors[4].message).toContain("function");
			expect(Object.keys(badTask)).not.toContain("progress");
			const badRow = (await storage.get(storageIdOf(bad))) as BackgroundTask;
			expect(badRow.progress ?? undefined).toBeUndefined();
			expect(written.values).toEqual([]);
		});
	});
}
