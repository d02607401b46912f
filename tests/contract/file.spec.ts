// The storage contract on @twin.org/entity-storage-connector-file in a temporary directory, and the
// workaround for its unlocked whole-file rewrites.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { FileEntityStorageConnector } from "@twin.org/entity-storage-connector-file";
import { afterAll, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { createConnector, waitForStatus } from "../helpers/harness.js";
import { queueContract } from "./queueContract.js";
import {
	CONTRACT_HANDLERS,
	storageContract,
	storedTask,
	type IStorageBackend
} from "./storageContract.js";

const root = mkdtempSync(join(tmpdir(), "twin-bg-file-"));
let dirCount = 0;

afterAll(() => {
	rmSync(root, { recursive: true, force: true });
});

/**
 * A file storage in a directory, bootstrapped (the directory is created).
 * @param directory The directory, a fresh one when omitted.
 * @returns The storage.
 */
async function file(
	directory = join(root, `store-${++dirCount}`)
): Promise<FileEntityStorageConnector<BackgroundTask>> {
	const storage = new FileEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: { directory }
	});
	expect(await storage.bootstrap()).toBe(true);
	return storage;
}

const BACKEND: IStorageBackend = { fresh: async () => file() };

storageContract("file", BACKEND);
queueContract("file", BACKEND);

describe("file connector behaviours", () => {
	test("overlapping calls lose writes (the behaviour the store serialises calls for)", async () => {
		const storage = await file();
		const tasks = Array.from({ length: 20 }, () => storedTask({ type: "overlap" }));
		await Promise.all(tasks.map(async t => storage.set(t)));
		const page = await storage.query(undefined, undefined, undefined, undefined, 100);
		// Each set reads the whole file, adds its task and rewrites it: concurrent sets overwrite one
		// another, so far fewer than 20 survive.
		expect(page.entities.length).toBeLessThan(tasks.length);
	});

	test("through the connector, tasks created at once all survive (calls are serialised)", async () => {
		const storage = await file();
		const { connector } = createConnector({ executionMode: "inline" }, storage);
		const ids = await Promise.all(
			Array.from({ length: 20 }, async (_, i) =>
				connector.create("overlap", { i }, { retainFor: -1 })
			)
		);
		const page = await storage.query(undefined, undefined, undefined, undefined, 100);
		expect(page.entities.map(e => `background-task:entity-storage:${e.id}`).sort()).toEqual(
			[...ids].sort()
		);
	});

	test("a new process on the same directory resumes unfinished tasks", async () => {
		const directory = join(root, `store-${++dirCount}`);
		const before = createConnector({ executionMode: "inline" }, await file(directory));
		const ids = [
			await before.connector.create("resume", { n: 1 }, { retainFor: -1 }),
			await before.connector.create("resume", { n: 2 }, { retainFor: -1 })
		];
		// A new connector instance on the same directory stands for the next run of the process.
		const after = createConnector({ executionMode: "inline" }, await file(directory));
		await after.connector.registerHandler("resume", CONTRACT_HANDLERS, "echo");
		await after.start();
		for (const [i, id] of ids.entries()) {
			const task = await waitForStatus(after.connector, id, [TaskStatus.Success]);
			expect(task.result).toEqual({ echoed: { n: i + 1 } });
		}
	});
});
