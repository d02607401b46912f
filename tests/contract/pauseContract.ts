// Pausing and resuming a type (issue 22, item 3) through the public API, on any backend:
// queueContract() calls pauseContract(), so every backend's contract spec runs it. A poll far
// beyond the tests' bounds leaves the resume's wake-up as the only way the paused tasks can start
// in time.
import { existsSync, writeFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { IEntityStorageBackgroundTaskConnectorConfig } from "../../src/index.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { CONTRACT_HANDLERS, type FreshConnector } from "./storageContract.js";

/**
 * A poll interval no test here waits for.
 */
const NO_POLL: IEntityStorageBackgroundTaskConnectorConfig = { pollInterval: 60_000 };

/**
 * Define the pause tests for a backend, inside queueContract().
 * @param name The backend name, for the test titles.
 * @param fresh A connector over a fresh storage of the backend, with extra config.
 * @param scratchFile A new file path in the contract's scratch directory.
 */
export function pauseContract(
	name: string,
	fresh: FreshConnector,
	scratchFile: (label: string) => string
): void {
	describe(`pause and resume: ${name}`, () => {
		test("a paused type starts nothing new: the running task finishes, create still accepts; resume runs the rest at once", async () => {
			const { connector, start } = await fresh(NO_POLL);
			// A release that has already come: such a task ends as soon as it starts.
			const released = scratchFile("released");
			writeFileSync(released, "go");
			await connector.registerHandler("pause-held", CONTRACT_HANDLERS, "waitForRelease");
			await connector.registerHandler("pause-other", CONTRACT_HANDLERS, "echo");
			await start();
			const holdStarted = scratchFile("hold-started");
			const holdRelease = scratchFile("hold-release");
			const hold = await connector.create(
				"pause-held",
				{ started: holdStarted, release: holdRelease },
				{ retainFor: -1 }
			);
			await waitFor(() => existsSync(holdStarted), 10000, "the holding task to start");
			// Behind the running task (concurrency 1): queued, and on the native backend claimed, by
			// the time the pause comes or soon after.
			const started = [scratchFile("queued"), scratchFile("created"), scratchFile("many")];
			const queued = await connector.create(
				"pause-held",
				{ started: started[0], release: released },
				{ retainFor: -1 }
			);
			await connector.pause("pause-held");
			const created = await connector.create(
				"pause-held",
				{ started: started[1], release: released },
				{ retainFor: -1 }
			);
			const [many] = await connector.createMany(
				"pause-held",
				[{ started: started[2], release: released }],
				{ retainFor: -1 }
			);
			const paused = [queued, created, many];

			writeFileSync(holdRelease, "go");
			await waitForStatus(connector, hold, [TaskStatus.Success]);
			// The slot the running task held is free, and the scheduler is at work: every task of
			// another type created now runs, and no task of the paused type starts meanwhile.
			for (const id of await connector.createMany("pause-other", [1, 2, 3], { retainFor: -1 })) {
				await waitForStatus(connector, id, [TaskStatus.Success]);
			}
			for (const id of paused) {
				// Pending: a task claimed for this node before the pause is given back.
				await waitForStatus(connector, id, [TaskStatus.Pending]);
			}
			expect(started.filter(file => existsSync(file))).toEqual([]);
			const stats = await connector.getStatistics();
			expect(stats.pausedTypes).toEqual(["pause-held"]);
			expect(stats.types["pause-held"]).toMatchObject({ pending: 3, processing: 0, success: 1 });
			expect(stats.running).toBe(0);
			expect((await connector.getStatistics("pause-held")).pausedTypes).toEqual(["pause-held"]);
			expect((await connector.getStatistics("pause-other")).pausedTypes).toEqual([]);

			await connector.resume("pause-held");
			for (const id of paused) {
				await waitForStatus(connector, id, [TaskStatus.Success]);
			}
			expect(started.filter(file => existsSync(file))).toHaveLength(3);
			expect((await connector.getStatistics()).pausedTypes).toEqual([]);
		});

		test("a type paused before start and before its handler waits for resume; a second pause and the resume of a type not paused change nothing", async () => {
			const { connector, start } = await fresh(NO_POLL);
			await connector.pause("pause-early");
			await connector.pause("pause-early");
			await connector.pause("pause-early-b");
			await connector.resume("pause-never");
			await connector.resume("pause-early-b");
			expect((await connector.getStatistics()).pausedTypes).toEqual(["pause-early"]);
			const ids = await connector.createMany("pause-early", [1, 2], { retainFor: -1 });
			await start();
			await connector.registerHandler("pause-early", CONTRACT_HANDLERS, "echo");
			await connector.registerHandler("pause-early-other", CONTRACT_HANDLERS, "echo");
			// Registered after the paused type, whose scan it would follow: once its task has run,
			// a task of the paused type would have started too.
			const other = await connector.create("pause-early-other", 3, { retainFor: -1 });
			await waitForStatus(connector, other, [TaskStatus.Success]);
			for (const id of ids) {
				expect((await connector.get(id))?.status).toBe(TaskStatus.Pending);
			}

			await connector.resume("pause-early");
			await connector.resume("pause-early");
			for (const id of ids) {
				await waitForStatus(connector, id, [TaskStatus.Success]);
			}
			expect((await connector.getStatistics()).pausedTypes).toEqual([]);
		});

		test("pause and resume reject a type that is not a non-empty string, naming it, and pause nothing", async () => {
			const { connector, start } = await fresh();
			await start();
			for (const call of [
				async (): Promise<void> => connector.pause(""),
				async (): Promise<void> => connector.pause(42 as never),
				async (): Promise<void> => connector.resume(""),
				async (): Promise<void> => connector.resume(undefined as never)
			]) {
				await expect(call()).rejects.toMatchObject({
					name: "ValidationError",
					properties: { validationFailures: [{ property: "type" }] }
				});
			}
			expect((await connector.getStatistics()).pausedTypes).toEqual([]);
		});
	});
}
