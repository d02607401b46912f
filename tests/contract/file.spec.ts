// The storage contract on @twin.org/entity-storage-connector-file in a temporary directory, and the
// workaround for its unlocked whole-file rewrites.
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { FileEntityStorageConnector } from "@twin.org/entity-storage-connector-file";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
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

/**
 * The directory of each storage made here.
 */
const directories = new WeakMap<IEntityStorageConnector<BackgroundTask>, string>();

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
	directories.set(storage, directory);
	return storage;
}

/**
 * The store's whole text ("" when there is no file yet), or undefined when it does not parse:
 * the connector is writing it.
 * @param path The store's file.
 * @returns The text.
 */
async function wholeText(path: string): Promise<string | undefined> {
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") {
			return "";
		}
		throw err;
	}
	try {
		JSON.parse(text);
		return text;
	} catch {
		return undefined;
	}
}

/**
 * The storage as the tests read it beside the connector. The connector makes its calls one at a
 * time, but a test's own get() or query() may land while the connector rewrites the file, and the
 * file connector then parses the half-written file as an empty store: the task reads as absent.
 * A read here waits for a whole text of the file and asks a file connector over a copy of it.
 * @param storage The storage.
 * @returns The storage with settled reads.
 */
function settledReads(
	storage: IEntityStorageConnector<BackgroundTask>
): IEntityStorageConnector<BackgroundTask> {
	const path = join(directories.get(storage) as string, "store.json");
	const copyDirectory = mkdtempSync(join(root, "reads-"));
	const copy = new FileEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: { directory: copyDirectory }
	});
	let last: Promise<unknown> = Promise.resolve();
	const settled = async <T>(
		read: (reader: IEntityStorageConnector<BackgroundTask>) => Promise<T>
	): Promise<T> => {
		const deadline = Date.now() + 10000;
		let text = await wholeText(path);
		while (text === undefined) {
			if (Date.now() > deadline) {
				throw new Error(`${path} held no whole text for 10 s`);
			}
			await new Promise(resolve => setTimeout(resolve, 2));
			text = await wholeText(path);
		}
		await writeFile(join(copyDirectory, "store.json"), text === "" ? "[]" : text);
		return read(copy);
	};
	// One read at a time: they share the copy.
	const inTurn = async <T>(
		read: (reader: IEntityStorageConnector<BackgroundTask>) => Promise<T>
	): Promise<T> => {
		const result = last.then(async () => settled(read));
		last = result.catch(() => undefined);
		return result;
	};
	return new Proxy(storage, {
		get: (target, property) => {
			if (property === "get") {
				return async (...args: Parameters<typeof target.get>) => inTurn(async r => r.get(...args));
			}
			if (property === "query") {
				return async (...args: Parameters<typeof target.query>) =>
					inTurn(async r => r.query(...args));
			}
			const value = Reflect.get(target, property) as unknown;
			return typeof value === "function" ? value.bind(target) : value;
		}
	});
}

const BACKEND: IStorageBackend = { fresh: async () => file(), testReads: settledReads };

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
