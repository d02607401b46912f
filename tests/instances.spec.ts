// config.instanceId and adoptTasks over entity storage (issue 19, item 4), on one in-memory store:
// each instance stores its id in the tasks it creates and runs only those; adoptTasks moves a
// departed instance's pending and interrupted tasks to the caller. The multi-process proof on
// DynamoDB and MariaDB is tests/multinode/instances.spec.ts.
import { TaskStatus } from "@twin.org/background-task-models";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/index.js";
import { CONTRACT_HANDLERS, storedTask } from "./contract/storageContract.js";
import { createConnector, waitForStatus } from "./helpers/harness.js";
import { errorOf, storageIdOf } from "./helpers/tasks.js";

/**
 * A fresh in-memory store.
 * @returns The store.
 */
function memory(): MemoryEntityStorageConnector<BackgroundTask> {
	return new MemoryEntityStorageConnector<BackgroundTask>({ entitySchema: "BackgroundTask" });
}

describe("config.instanceId", () => {
	test('a task is stored with its creator\'s id, "main" by default, as the original stores it', async () => {
		const storage = memory();
		const plain = createConnector({ executionMode: "inline" }, storage).connector;
		const named = createConnector(
			{ executionMode: "inline", instanceId: "node-2" },
			storage
		).connector;
		const a = await plain.create("work", { n: 1 });
		const b = await named.create("work", { n: 2 });
		expect((await storage.get(storageIdOf(a)))?.threadId).toBe("main");
		expect((await storage.get(storageIdOf(b)))?.threadId).toBe("node-2");
	});

	test("two instances on one store each run only their own tasks", async () => {
		const storage = memory();
		const ran = new Map<string, string>();
		const instance = async (id: string): Promise<ReturnType<typeof createConnector>> => {
			const created = createConnector({ executionMode: "inline", instanceId: id }, storage);
			await created.connector.registerHandler("work", CONTRACT_HANDLERS, "echo", async t => {
				if (t.status === TaskStatus.Processing) {
					expect(ran.has(t.id)).toBe(false);
					ran.set(t.id, id);
				}
			});
			await created.start();
			return created;
		};
		const a = await instance("A");
		const b = await instance("B");
		const ids = { A: [] as string[], B: [] as string[] };
		for (let i = 0; i < 20; i++) {
			ids.A.push(await a.connector.create("work", { i }, { retainFor: -1 }));
			ids.B.push(await b.connector.create("work", { i }, { retainFor: -1 }));
		}
		for (const [owner, list] of Object.entries(ids)) {
			for (const id of list) {
				await waitForStatus(a.connector, id, [TaskStatus.Success]);
				expect(ran.get(storageIdOf(id))).toBe(owner);
			}
		}
	});
});

describe("adoptTasks", () => {
	test("moves a departed instance's pending and interrupted tasks, which then run here", async () => {
		const storage = memory();
		const departed = createConnector({ executionMode: "inline", instanceId: "gone" }, storage);
		const pending = [
			await departed.connector.create("work", { p: 1 }, { retainFor: -1 }),
			await departed.connector.create("work", { p: 2 }, { retainFor: -1 })
		];
		const interrupted = storedTask({
			type: "work",
			threadId: "gone",
			status: TaskStatus.Processing,
			retainFor: -1,
			dateModified: new Date(Date.now() - 60000).toISOString()
		});
		await storage.set(interrupted);
		const finished = storedTask({
			type: "work",
			threadId: "gone",
			status: TaskStatus.Success,
			retainFor: -1
		});
		delete finished.dateNextProcess;
		await storage.set(finished);

		const heir = createConnector({ executionMode: "inline", instanceId: "heir" }, storage);
		await heir.connector.registerHandler("work", CONTRACT_HANDLERS, "echo");
		await heir.start();
		// Not its own: nothing runs until it adopts them.
		expect((await heir.connector.get(pending[0]))?.status).toBe(TaskStatus.Pending);

		expect(await heir.connector.adoptTasks("gone")).toBe(3);
		for (const id of [...pending, `background-task:entity-storage:${interrupted.id}`]) {
			await waitForStatus(heir.connector, id, [TaskStatus.Success]);
			expect((await storage.get(storageIdOf(id)))?.threadId).toBe("heir");
		}
		// A final task stays where it is; adopting again finds nothing.
		expect((await storage.get(finished.id))?.threadId).toBe("gone");
		expect(await heir.connector.adoptTasks("gone")).toBe(0);
		expect(await heir.connector.adoptTasks("heir")).toBe(0);
	});

	test("an empty id is rejected naming the argument, and nothing is written", async () => {
		const storage = memory();
		const { connector } = createConnector({ executionMode: "inline" }, storage);
		const err = await errorOf(async () => connector.adoptTasks(""));
		expect(err.name).toBe("GuardError");
		expect(err.properties?.property).toBe("fromInstanceId");
		expect((await storage.query()).entities).toEqual([]);
	});
});
