// abort() over entity storage where it cannot reach the run (issue 22, item 4): a task left
// processing by another instance on the store (or by a crash, until the next start recovers it)
// is not this instance's run, and no instance would look for a request stored on it. abort()
// leaves it as it is, with a warning. The rest of abort() is in tests/contract/abortContract.ts.
import { TaskStatus } from "@twin.org/background-task-models";
import { expect, test } from "vitest";
import { CONTRACT_HANDLERS } from "./contract/storageContract.js";
import { createConnector } from "./helpers/harness.js";
import { registerLoggingConnector } from "./helpers/logging.js";
import { taskEntity } from "./helpers/tasks.js";

test("over entity storage, abort of a task processing in another instance changes nothing and warns", async () => {
	const logger = registerLoggingConnector();
	const { connector, storage, start } = createConnector({ executionMode: "inline" }, undefined, {
		loggingConnectorType: logger.name
	});
	await connector.registerHandler("seeded", CONTRACT_HANDLERS, "echo");
	await start();
	const task = taskEntity({
		threadId: "another-instance",
		status: TaskStatus.Processing,
		dateNextProcess: undefined,
		retainFor: -1
	});
	await storage.set(task);
	const id = `background-task:entity-storage:${task.id}`;

	await connector.abort(id, "out of reach");

	expect(await storage.get(task.id)).toEqual(task);
	expect(logger.entries.filter(e => e.message === "abortNotRunningHere")).toMatchObject([
		{ level: "warn", data: { id: task.id } }
	]);
});
