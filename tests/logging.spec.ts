// Logging, as the original: entries go to the logging connector named loggingConnectorType
// (default "logging") in LoggingConnectorFactory, or to a logging component named
// loggingComponentType in ComponentFactory. Each task logs info "start" after its claim callback
// and info "complete" after its final callback (whatever the status); a type with due tasks and no
// handler logs error "noHandler"; a handler module that cannot be found at registration logs warn
// "moduleNotFound". Every message key is in locales/en.json. A logger that fails never stops
// processing.
import { readFileSync } from "node:fs";
import { TaskStatus } from "@twin.org/background-task-models";
import { LoggingConnectorFactory } from "@twin.org/logging-models";
import { describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../src/index.js";
import { HANDLERS, registerStorage, waitFor, waitForStatus } from "./helpers/harness.js";
import {
	registerLoggingComponent,
	registerLoggingConnector,
	type IRecordingLogger
} from "./helpers/logging.js";
import { storageIdOf } from "./helpers/tasks.js";

const LOCALES = JSON.parse(
	readFileSync(new URL("../locales/en.json", import.meta.url), "utf8")
) as { [level: string]: { [source: string]: { [key: string]: string } } };

/**
 * Create a started connector with the given logging options and an "echo" handler.
 * @param options The constructor's logging options.
 * @param stateChangeCallback The echo handler's state-change callback.
 * @returns The connector.
 */
async function startWith(
	options: { loggingConnectorType?: string; loggingComponentType?: string },
	stateChangeCallback?: (task: { status: string }) => Promise<void>
): Promise<EntityStorageBackgroundTaskConnector> {
	const { storageType } = registerStorage();
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: storageType,
		...options,
		config: { executionMode: "inline", pollInterval: 100 }
	});
	await connector.registerHandler("echo", HANDLERS, "echo", stateChangeCallback);
	await connector.start("test");
	return connector;
}

/**
 * Create a task of "echo" and wait until its "complete" entry is logged.
 * @param connector The connector.
 * @param logger The logger that should receive it.
 * @returns The task's URN.
 */
async function echoLogged(
	connector: EntityStorageBackgroundTaskConnector,
	logger: IRecordingLogger
): Promise<string> {
	const urn = await connector.create("echo", { a: 1 });
	await waitFor(
		() => logger.entries.some(e => e.message === "complete" && e.data?.id === storageIdOf(urn)),
		5000,
		"the complete entry"
	);
	return urn;
}

describe("logging", () => {
	test("each task logs info start after its claim callback and info complete after its final callback, with its id, type and status", async () => {
		const events: string[] = [];
		const logger = registerLoggingConnector({ onEntry: e => events.push(`log ${e.message}`) });
		const connector = await startWith({ loggingConnectorType: logger.name }, async task => {
			events.push(`callback ${task.status}`);
		});
		try {
			const urn = await connector.create("echo", { a: 1 }, { retainFor: -1 });
			await waitForStatus(connector, urn, [TaskStatus.Success]);
			const id = storageIdOf(urn);
			await waitFor(() => logger.entries.some(e => e.message === "complete"), 5000, "complete");
			const forTask = logger.entries.filter(e => e.data?.id === id);
			expect(forTask.map(e => [e.level, e.message, e.data])).toEqual([
				["info", "start", { id, type: "echo" }],
				["info", "complete", { id, type: "echo", status: TaskStatus.Success }]
			]);
			expect(forTask.every(e => e.source === "EntityStorageBackgroundTaskConnector")).toBe(true);
			// As the original's entries: no error key when there is no error.
			expect(forTask.every(e => !("error" in e))).toBe(true);
			expect(events).toEqual([
				`callback ${TaskStatus.Processing}`,
				"log start",
				`callback ${TaskStatus.Success}`,
				"log complete"
			]);
		} finally {
			await connector.stop("test");
		}
	});

	test("a failed attempt and a final failure log info complete with status pending and failed", async () => {
		const logger = registerLoggingConnector();
		const connector = await startWith({ loggingConnectorType: logger.name });
		try {
			await connector.registerHandler("failing", HANDLERS, "fail");
			const urn = await connector.create(
				"failing",
				{ message: "no" },
				{ retainFor: -1, retryCount: 1, retryInterval: 1 }
			);
			await waitForStatus(connector, urn, [TaskStatus.Failed]);
			const id = storageIdOf(urn);
			await waitFor(
				() => logger.entries.filter(e => e.message === "complete").length === 2,
				5000,
				"two complete entries"
			);
			expect(
				logger.entries.filter(e => e.data?.id === id).map(e => [e.level, e.message, e.data])
			).toEqual([
				["info", "start", { id, type: "failing" }],
				["info", "complete", { id, type: "failing", status: TaskStatus.Pending }],
				["info", "start", { id, type: "failing" }],
				["info", "complete", { id, type: "failing", status: TaskStatus.Failed }]
			]);
		} finally {
			await connector.stop("test");
		}
	});

	test("due tasks of a type without a handler are reported as an error by the poll, naming one task", async () => {
		const logger = registerLoggingConnector();
		const connector = await startWith({ loggingConnectorType: logger.name });
		try {
			const urn = await connector.create("orphan", { a: 1 });
			const entry = await waitFor(
				() => logger.entries.find(e => e.message === "noHandler"),
				5000,
				"a noHandler entry"
			);
			expect(entry.level).toBe("error");
			expect(entry.data).toEqual({ id: storageIdOf(urn), type: "orphan" });
			expect("error" in entry).toBe(false);
		} finally {
			await connector.stop("test");
		}
	});

	test("a handler module that cannot be found is registered with a warn moduleNotFound entry naming it", async () => {
		const logger = registerLoggingConnector();
		const connector = await startWith({ loggingConnectorType: logger.name });
		try {
			const module = "/nonexistent/logging/handler.mjs";
			await connector.registerHandler("missing", module, "work");
			const entry = logger.entries.find(e => e.message === "moduleNotFound");
			expect(entry?.level).toBe("warn");
			expect(entry?.data).toEqual({ type: "missing", module, cwd: process.cwd() });
			// A module that exists logs no warning.
			await connector.registerHandler("found", HANDLERS, "echo");
			expect(logger.entries.filter(e => e.message === "moduleNotFound")).toHaveLength(1);
		} finally {
			await connector.stop("test");
		}
	});

	test('loggingConnectorType defaults to "logging" in LoggingConnectorFactory, as the original', async () => {
		const logger = registerLoggingConnector({ name: "logging" });
		try {
			const connector = await startWith({});
			try {
				const urn = await echoLogged(connector, logger);
				expect(urn).toMatch(/^background-task:entity-storage:[0-9a-f]{32}$/);
			} finally {
				await connector.stop("test");
			}
		} finally {
			LoggingConnectorFactory.unregister("logging");
		}
	});

	test("loggingComponentType names a logging component in ComponentFactory; loggingConnectorType is not looked up there", async () => {
		const component = registerLoggingComponent();
		const connector = await startWith({ loggingComponentType: component.name });
		try {
			await echoLogged(connector, component);
		} finally {
			await connector.stop("test");
		}

		// A component's name given as loggingConnectorType finds no logging connector: silent.
		const unused = registerLoggingComponent();
		const silent = await startWith({ loggingConnectorType: unused.name });
		try {
			const urn = await silent.create("echo", { a: 1 }, { retainFor: -1 });
			await waitForStatus(silent, urn, [TaskStatus.Success]);
			expect(unused.entries).toEqual([]);
		} finally {
			await silent.stop("test");
		}
	});

	test("a logger that throws does not stop processing", async () => {
		const logger = registerLoggingConnector({ fail: true });
		const connector = await startWith({ loggingConnectorType: logger.name });
		try {
			const urns = [];
			for (let i = 0; i < 3; i++) {
				urns.push(await connector.create("echo", { i }, { retainFor: -1 }));
			}
			for (const urn of urns) {
				await waitForStatus(connector, urn, [TaskStatus.Success]);
			}
			expect(logger.entries.length).toBeGreaterThanOrEqual(6);
		} finally {
			await connector.stop("test");
		}
	});

	test("every message logged has its key in locales/en.json under its level", async () => {
		const logger = registerLoggingConnector();
		const connector = await startWith({ loggingConnectorType: logger.name });
		try {
			await connector.registerHandler("failing", HANDLERS, "fail");
			await connector.registerHandler("missing", "/nonexistent/logging/handler.mjs", "work");
			await connector.create("echo", { a: 1 });
			await connector.create("failing", { message: "no" });
			await connector.create("missing", {});
			await connector.create("orphan", {});
			await waitFor(
				() =>
					logger.entries.some(e => e.message === "noHandler") &&
					logger.entries.some(e => e.message === "moduleNotFound") &&
					logger.entries.some(e => e.message === "start") &&
					logger.entries.filter(e => e.message === "complete" && e.data?.status === "success")
						.length === 1 &&
					logger.entries.filter(e => e.message === "complete" && e.data?.status === "failed")
						.length === 2,
				5000,
				"the entries"
			);
			for (const entry of logger.entries) {
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
