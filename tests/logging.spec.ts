// Logging through a configured logging component: an info entry when each task starts and
// finishes, an error when a type has due tasks and no handler, and every message key present in
// locales/en.json. A logger that fails never stops processing.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import { ComponentFactory } from "@twin.org/core";
import type { ILogEntry, ILoggingComponent } from "@twin.org/logging-models";
import { describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../src/index.js";
import { HANDLERS, registerStorage, waitFor, waitForStatus } from "./helpers/harness.js";

const LOCALES = JSON.parse(
	readFileSync(new URL("../locales/en.json", import.meta.url), "utf8")
) as { [level: string]: { [source: string]: { [key: string]: string } } };

let loggerCount = 0;

/**
 * Register a logging component that records entries, optionally throwing on every call.
 * @param fail Throw on every log call.
 * @returns Its registered name and the entries it received.
 */
function registerLogger(fail = false): { name: string; entries: ILogEntry[] } {
	const name = `test-logging-${++loggerCount}`;
	const entries: ILogEntry[] = [];
	const logger: ILoggingComponent = {
		CLASS_NAME: "RecordingLogger",
		log: async entry => {
			entries.push(entry);
			if (fail) {
				throw new Error("the logger is broken");
			}
		},
		query: async () => ({ entities: [] })
	};
	ComponentFactory.register(name, () => logger);
	return { name, entries };
}

/**
 * Create a started connector with a logger under the given option name.
 * @param option The constructor option naming the logger.
 * @param loggerName The logger's registered name.
 * @returns The connector.
 */
async function startWithLogger(
	option: "loggingComponentType" | "loggingConnectorType",
	loggerName: string
): Promise<EntityStorageBackgroundTaskConnector> {
	const { storageType } = registerStorage();
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: storageType,
		[option]: loggerName,
		config: { executionMode: "inline", pollInterval: 100 }
	});
	await connector.registerHandler("echo", HANDLERS, "echo");
	await connector.start("test");
	return connector;
}

describe("logging", () => {
	test("each task logs info when it starts and when it finishes, with its id and type", async () => {
		const { name, entries } = registerLogger();
		const connector = await startWithLogger("loggingComponentType", name);
		try {
			const urn = await connector.create("echo", { a: 1 }, { retainFor: -1 });
			await waitForStatus(connector, urn, [TaskStatus.Success]);
			const id = urn.split(":").at(-1);
			await waitFor(() => entries.some(e => e.message === "taskFinished"), 5000, "taskFinished");
			const forTask = entries.filter(e => e.data?.id === id);
			expect(forTask.map(e => [e.level, e.message, e.data?.type])).toEqual([
				["info", "taskStarted", "echo"],
				["info", "taskFinished", "echo"]
			]);
			expect(forTask[1].data?.status).toBe(TaskStatus.Success);
			expect(forTask.every(e => e.source === "EntityStorageBackgroundTaskConnector")).toBe(true);
		} finally {
			await connector.stop("test");
		}
	});

	test("due tasks of a type without a handler are reported as an error by the poll", async () => {
		const { name, entries } = registerLogger();
		const connector = await startWithLogger("loggingComponentType", name);
		try {
			await connector.create("orphan", { a: 1 });
			const entry = await waitFor(
				() => entries.find(e => e.message === "noHandler"),
				5000,
				"a noHandler entry"
			);
			expect(entry.level).toBe("error");
			expect(entry.data).toEqual({ type: "orphan" });
		} finally {
			await connector.stop("test");
		}
	});

	test("the older option name loggingConnectorType is accepted as an alias", async () => {
		const { name, entries } = registerLogger();
		const connector = await startWithLogger("loggingConnectorType", name);
		try {
			const urn = await connector.create("echo", { a: 1 });
			await waitFor(() => entries.some(e => e.message === "taskFinished"), 5000, "taskFinished");
			expect(urn).toMatch(/^background-task:entity-storage:[0-9a-f]{32}$/);
		} finally {
			await connector.stop("test");
		}
	});

	test("a logger that throws does not stop processing", async () => {
		const { name, entries } = registerLogger(true);
		const connector = await startWithLogger("loggingComponentType", name);
		try {
			const urns = [];
			for (let i = 0; i < 3; i++) {
				urns.push(await connector.create("echo", { i }, { retainFor: -1 }));
			}
			for (const urn of urns) {
				await waitForStatus(connector, urn, [TaskStatus.Success]);
			}
			expect(entries.length).toBeGreaterThanOrEqual(6);
		} finally {
			await connector.stop("test");
		}
	});

	test("every message logged has its key in locales/en.json under its level", async () => {
		const { name, entries } = registerLogger();
		const connector = await startWithLogger("loggingComponentType", name);
		try {
			await connector.registerHandler("failing", HANDLERS, "fail");
			await connector.create("echo", { a: 1 });
			await connector.create("failing", { message: "no" });
			await connector.create("orphan", {});
			await waitFor(
				() =>
					entries.some(e => e.message === "noHandler") &&
					entries.some(e => e.message === "taskFinished") &&
					entries.some(e => e.message === "taskFailed"),
				5000,
				"the entries"
			);
			for (const entry of entries) {
				expect(
					LOCALES[entry.level]?.entityStorageBackgroundTaskConnector?.[entry.message],
					`${entry.level}.${entry.message}`
				).toBeTypeOf("string");
			}
		} finally {
			await connector.stop("test");
		}
	});
});
