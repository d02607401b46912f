// The storage contract on @twin.org/entity-storage-connector-memory, and the workaround for its
// live references.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { afterAll, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { createConnector, waitForStatus } from "../helpers/harness.js";
import { abortContract } from "./abortContract.js";
import { queueContract } from "./queueContract.js";
import { CONTRACT_HANDLERS, storageContract, type IStorageBackend } from "./storageContract.js";

/**
 * A fresh in-memory storage.
 * @returns The storage.
 */
function memory(): MemoryEntityStorageConnector<BackgroundTask> {
	return new MemoryEntityStorageConnector<BackgroundTask>({ entitySchema: "BackgroundTask" });
}

const BACKEND: IStorageBackend = { fresh: async () => memory() };

storageContract("memory", BACKEND);
queueContract("memory", BACKEND);

// abort reaches into worker threads (their signal, their termination after abortGrace): run its
// contract in worker mode too on the one backend that needs no server.
const scratch = mkdtempSync(join(tmpdir(), "twin-bg-abort-"));
let scratchCount = 0;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
abortContract(
	"memory (worker mode)",
	async config => createConnector({ executionMode: "worker", ...config }, memory()),
	label => join(scratch, `${label}-${++scratchCount}`),
	"worker"
);

describe("memory connector behaviours", () => {
	test("get returns live references to stored objects, and the connector never changes one", async () => {
		const storage = memory();
		const { connector, start } = createConnector({ executionMode: "inline" }, storage);
		const id = await connector.create("live", { list: [1] }, { retainFor: -1 });
		const storageId = id.split(":").pop() as string;

		// The behaviour: two reads hand out the same object, and changing it changes storage.
		const live = (await storage.get(storageId)) as BackgroundTask;
		expect(await storage.get(storageId)).toBe(live);
		const snapshot = structuredClone(live);

		// The workaround: what the connector returns is a copy ...
		const task = await connector.get(id);
		(task?.payload as { list: number[] }).list.push(2);
		const listed = await connector.query("live");
		(listed.entities[0].payload as { list: number[] }).list.push(3);
		expect(live).toEqual(snapshot);

		// ... and what it writes is a fresh object: the entity read before a change is never changed.
		await connector.cancel(id);
		expect(live).toEqual(snapshot);
		expect(live.status).toBe(TaskStatus.Pending);
		expect((await connector.get(id))?.status).toBe(TaskStatus.Cancelled);

		// A running task too: the stored entity read before the run keeps its state.
		await connector.registerHandler("live-run", CONTRACT_HANDLERS, "echo");
		await start();
		const runId = await connector.create("live-run", { n: 1 }, { retainFor: -1 });
		const before = (await storage.get(runId.split(":").pop() as string)) as BackgroundTask;
		const beforeCopy = structuredClone(before);
		await waitForStatus(connector, runId, [TaskStatus.Success]);
		expect(before).toEqual(beforeCopy);
	});
});
