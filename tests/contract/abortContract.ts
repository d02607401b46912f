// Stopping a task with abort(taskId, reason?) (issue 22, item 4) through the public API, on any
// backend: queueContract() calls abortContract(), so every backend's contract spec runs it, in
// the execution mode it runs the queue features in (worker mode: the pool's signal and the
// termination after abortGrace).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { IEntityStorageBackgroundTaskConnectorConfig } from "../../src/index.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { storageIdOf } from "../helpers/tasks.js";
import { CONTRACT_HANDLERS, type FreshConnector } from "./storageContract.js";

/**
 * The abort handlers' module (they import the package, so they live apart from the others).
 */
const ABORT_HANDLERS = new URL("./abortHandlers.mjs", import.meta.url).href;

/**
 * The state-change callback's calls, by storage id (the callback gets the entity, as the
 * original's does): the statuses it saw, in order.
 */
type Calls = Map<string, string[]>;

/**
 * A state-change callback that records every call's status.
 * @param calls Where to record.
 * @returns The callback.
 */
function recording(calls: Calls): (task: IBackgroundTask) => Promise<void> {
	return async task => {
		calls.set(task.id, [...(calls.get(task.id) ?? []), task.status]);
	};
}

/**
 * Define the abort tests for a backend, inside queueContract().
 * @param name The backend name, for the test titles.
 * @param fresh A connector over a fresh storage of the backend, with extra config.
 * @param scratchFile A new file path in the contract's scratch directory.
 * @param executionMode Where handlers run.
 */
export function abortContract(
	name: string,
	fresh: FreshConnector,
	scratchFile: (label: string) => string,
	executionMode: IEntityStorageBackgroundTaskConnectorConfig["executionMode"]
): void {
	describe(`abort: ${name}`, () => {
		test("a running handler sees its signal with the reason; the task ends cancelled once, not retried though it has retries", async () => {
			const { connector, start } = await fresh();
			const calls: Calls = new Map();
			await connector.registerHandler("abort-honours", ABORT_HANDLERS, "honours", recording(calls));
			await start();
			const started = scratchFile("started");
			const aborted = scratchFile("aborted");
			const id = await connector.create(
				"abort-honours",
				{ started, aborted },
				{ retryCount: 3, retryInterval: 1, retainFor: -1 }
			);
			await waitFor(() => existsSync(started), 10000, "the handler to start");
			await connector.abort(id, "stopped by the test");

			const task = await waitForStatus(connector, id, [TaskStatus.Cancelled]);
			expect(task.error).toMatchObject({ name: "AbortError", message: "stopped by the test" });
			expect(task.dateCancelled).toBeDefined();
			// The handler's own view: its signal fired with the reason.
			expect(JSON.parse(readFileSync(aborted, "utf8"))).toEqual({
				name: "AbortError",
				message: "stopped by the test"
			});
			// The callback heard of the claim and of the cancel, once each; nothing ran again.
			await waitFor(() => calls.get(storageIdOf(id))?.length === 2, 5000, "the final callback");
			expect(calls.get(storageIdOf(id))).toEqual([TaskStatus.Processing, TaskStatus.Cancelled]);
			const stats = await connector.getStatistics();
			expect(stats.types["abort-honours"]).toMatchObject({
				cancelled: 1,
				processing: 0,
				pending: 0
			});
			expect((await connector.get(id))?.status).toBe(TaskStatus.Cancelled);
		});

		test("a handler that ignores its signal is stopped abortGrace later, recorded cancelled, and the next task runs", async () => {
			const { connector, start } = await fresh({ abortGrace: 300, maxWorkers: 1 });
			const calls: Calls = new Map();
			await connector.registerHandler("abort-ignores", ABORT_HANDLERS, "ignores", recording(calls));
			await connector.registerHandler("abort-thread", ABORT_HANDLERS, "whichThread");
			await start();
			const started = scratchFile("started");
			const release = scratchFile("release");
			const finished = scratchFile("finished");
			// In a worker the handler blocks its thread: only the termination can end it there.
			const id = await connector.create(
				"abort-ignores",
				{ started, release, finished, block: executionMode === "worker" },
				{ retryCount: 2, retainFor: -1 }
			);
			await waitFor(() => existsSync(started), 10000, "the handler to start");
			const abortedAt = Date.now();
			await connector.abort(id);

			const task = await waitForStatus(connector, id, [TaskStatus.Cancelled]);
			expect(Date.now() - abortedAt).toBeGreaterThanOrEqual(250);
			expect(task.error).toMatchObject({ name: "AbortError", message: "The task was aborted" });
			expect(existsSync(finished)).toBe(false);

			// The pool still runs tasks: in worker mode, in a new worker (maxWorkers 1, the old one
			// terminated; had it not been, this task would wait for the handler's 20 s bound).
			const next = await connector.create("abort-thread", undefined, { retainFor: -1 });
			const done = await waitForStatus(connector, next, [TaskStatus.Success]);
			if (executionMode === "worker") {
				expect((done.result as { threadId: number }).threadId).not.toBe(
					Number(readFileSync(started, "utf8"))
				);
			}
			// Inline the abandoned handler still runs; when it ends, nothing more is recorded.
			writeFileSync(release, "go");
			if (executionMode !== "worker") {
				await waitFor(() => existsSync(finished), 10000, "the abandoned handler to end");
			}
			await waitFor(() => calls.get(storageIdOf(id))?.length === 2, 5000, "the final callback");
			expect(calls.get(storageIdOf(id))).toEqual([TaskStatus.Processing, TaskStatus.Cancelled]);
			expect((await connector.get(id))?.status).toBe(TaskStatus.Cancelled);
		});

		test("abort of a pending task cancels it exactly as cancel() does", async () => {
			const { connector, storage, start } = await fresh();
			await connector.registerHandler("abort-pending", CONTRACT_HANDLERS, "echo");
			await start();
			const options = { startAfter: 3_600_000, retryCount: 2, retainFor: 60_000 };
			const viaCancel = await connector.create("abort-pending", { n: 1 }, options);
			const viaAbort = await connector.create("abort-pending", { n: 1 }, options);
			await connector.cancel(viaCancel);
			await connector.abort(viaAbort, "not needed");

			const cancelled = await connector.get(viaCancel);
			const aborted = await connector.get(viaAbort);
			expect(aborted?.status).toBe(TaskStatus.Cancelled);
			const comparable = (task: object | undefined): object => {
				const {
					id: _id,
					dateCreated: _created,
					dateModified: _modified,
					dateCancelled: _cancelled,
					retainUntil: _retainUntil,
					dateRetainUntil: _dateRetainUntil,
					...rest
				} = task as { [key: string]: unknown };
				return rest;
			};
			expect(comparable(aborted)).toEqual(comparable(cancelled));
			const storedCancel = await storage.get(storageIdOf(viaCancel));
			const storedAbort = await storage.get(storageIdOf(viaAbort));
			expect(Object.keys(storedAbort ?? {}).sort()).toEqual(Object.keys(storedCancel ?? {}).sort());
			expect(storedAbort?.error ?? undefined).toBeUndefined();
		});

		test("abort of a final or unknown task changes nothing; bad arguments are refused naming the field, nothing written", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("abort-final", CONTRACT_HANDLERS, "echo");
			await start();
			const done = await connector.create("abort-final", { n: 1 }, { retainFor: -1 });
			const before = await waitForStatus(connector, done, [TaskStatus.Success]);
			await connector.abort(done, "too late");
			expect(await connector.get(done)).toEqual(before);

			const unknown = done.replace(/[^:]+$/, "0".repeat(32));
			await connector.abort(unknown, "nobody");
			expect(await connector.get(unknown)).toBeUndefined();

			const waiting = await connector.create(
				"abort-final",
				{ n: 2 },
				{ startAfter: 3_600_000, retainFor: -1 }
			);
			await expect(connector.abort(waiting, 5 as never)).rejects.toMatchObject({
				name: "ValidationError",
				properties: { validationFailures: [{ property: "reason" }] }
			});
			await expect(connector.abort(42 as never)).rejects.toMatchObject({
				properties: { property: "taskId" }
			});
			expect((await connector.get(waiting))?.status).toBe(TaskStatus.Pending);
		});

		test("abort racing the handler's end: each task is recorded once, cancelled or the handler's outcome, never left processing", async () => {
			const { connector, start } = await fresh();
			const calls: Calls = new Map();
			await connector.registerHandler("abort-race", ABORT_HANDLERS, "honours", recording(calls));
			await start();
			const ROUNDS = 6;
			const outcomes: string[] = [];
			for (let round = 0; round < ROUNDS; round++) {
				const started = scratchFile("started");
				const release = scratchFile("release");
				const aborted = scratchFile("aborted");
				const id = await connector.create(
					"abort-race",
					{ started, release, aborted },
					{ retryCount: 2, retainFor: -1 }
				);
				await waitFor(() => existsSync(started), 10000, "the handler to start");
				// The release and the abort in the same turn: the handler may see either first, and
				// its end may reach the runner before or after the abort.
				writeFileSync(release, "go");
				await connector.abort(id, "race");
				const task = await waitForStatus(connector, id, [TaskStatus.Cancelled, TaskStatus.Success]);
				await waitFor(() => calls.get(storageIdOf(id))?.length === 2, 5000, "the final callback");
				expect(calls.get(storageIdOf(id))).toEqual([TaskStatus.Processing, task.status]);
				if (task.status === TaskStatus.Cancelled) {
					expect(task.error).toMatchObject({ name: "AbortError", message: "race" });
				} else {
					expect(task.result).toEqual({ released: true });
					expect(task.error).toBeUndefined();
				}
				outcomes.push(task.status);
			}
			// Every round recorded, nothing left processing or pending for a retry.
			const stats = await connector.getStatistics();
			expect(stats.types["abort-race"]).toMatchObject({ processing: 0, pending: 0 });
			expect(outcomes).toHaveLength(ROUNDS);
		});
	});
}
