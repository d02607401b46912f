// Running handlers, through the public API: results, failures of every kind, module and method
// resolution, engine clone data and timeouts, in both execution modes; then what needs worker
// isolation (terminating a spinning handler, surviving process.exit) in worker mode only.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { TaskStatus } from "@twin.org/background-task-models";
import { EngineCoreFactory, type IEngineCore } from "@twin.org/engine-models";
import { afterEach, describe, expect, test } from "vitest";
import { createConnector, waitForStatus } from "./helpers/harness.js";
import { registerLoggingConnector } from "./helpers/logging.js";
import { storageIdOf } from "./helpers/tasks.js";
import {
	HANDLERS,
	MODES,
	openGate,
	scratch,
	starts,
	statusRecorder,
	waitForStarts
} from "./fixtures/support.js";

const MISSING_MODULE = pathToFileURL(
	fileURLToPath(new URL("./fixtures/no-such-module.mjs", import.meta.url))
).href;

describe.each(MODES)("handler execution in %s mode", executionMode => {
	test("a task runs to success and its result is stored", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const payload = { text: "hello", list: [1, 2, { deep: true }], none: null };
		const id = await connector.create("echo", payload, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.status).toBe(TaskStatus.Success);
		expect(task.result).toEqual({ payload });
		expect(task.dateCompleted).toBeDefined();
		expect(task.error).toBeUndefined();
		expect(task.retriesRemaining).toBeUndefined();
	});

	test("a task without payload calls the handler with the engine clone data only", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("count", HANDLERS, "argCount");
		await start();
		const without = await connector.create("count", undefined, { retainFor: -1 });
		const withPayload = await connector.create("count", { a: 1 }, { retainFor: -1 });
		expect((await waitForStatus(connector, without, [TaskStatus.Success])).result).toEqual({
			count: 1
		});
		expect((await waitForStatus(connector, withPayload, [TaskStatus.Success])).result).toEqual({
			count: 2
		});
	});

	test("a failure without retryCount fails at once and the callback sees failed", async () => {
		const { connector, start } = createConnector({ executionMode });
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("fail", HANDLERS, "fail", callback);
		await start();
		const id = await connector.create("fail", { message: "boom" }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject({ name: "Error", message: "boom" });
		expect(task.dateCompleted).toBeDefined();
		expect(seen.get(storageIdOf(id))).toEqual([TaskStatus.Processing, TaskStatus.Failed]);
	});

	test.each([
		// As the original records a thrown string: what BaseError.fromError makes of it.
		["throwString", { name: "Base", message: "a plain string was thrown" }],
		["throwObject", { message: expect.stringContaining("object thrown") }],
		["throwCustom", { name: "CustomHandlerError", message: "custom failure" }],
		["badResult", { name: "ResultNotSerializableError" }]
	])("a handler failing by %s is recorded with its error", async (method, error) => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("odd", HANDLERS, method);
		await start();
		const id = await connector.create("odd", undefined, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject(error);
		// The scheduler keeps serving the type.
		await connector.registerHandler("echo", HANDLERS, "echo");
		const next = await connector.create("echo", { after: method }, { retainFor: -1 });
		expect((await waitForStatus(connector, next, [TaskStatus.Success])).result).toEqual({
			payload: { after: method }
		});
	});

	test("a module that does not exist is registered with a warning; its task fails naming module, other types run", async () => {
		const logger = registerLoggingConnector();
		const { connector, start } = createConnector({ executionMode }, undefined, {
			loggingConnectorType: logger.name
		});
		await expect(
			connector.registerHandler("nomodule", MISSING_MODULE, "echo")
		).resolves.toBeUndefined();
		expect(
			logger.entries.filter(e => e.message === "moduleNotFound").map(e => [e.level, e.data])
		).toEqual([["warn", { type: "nomodule", module: MISSING_MODULE, cwd: process.cwd() }]]);
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const missing = await connector.create("nomodule", { a: 1 }, { retainFor: -1 });
		const task = await waitForStatus(connector, missing, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		// The original's error, field for field: a GeneralError of its ModuleHelper naming the module.
		expect(task.error).toMatchObject({
			name: "GeneralError",
			source: "ModuleHelper",
			message: "moduleHelper.moduleNotFound",
			properties: { module: MISSING_MODULE, entry: "echo" }
		});
		const next = await connector.create("echo", { after: "nomodule" }, { retainFor: -1 });
		expect((await waitForStatus(connector, next, [TaskStatus.Success])).result).toEqual({
			payload: { after: "nomodule" }
		});
	});

	test("a module gone by run time or a missing export fails the task; fixing the registration makes the next one run", async () => {
		const { connector, start } = createConnector({ executionMode });
		// The module exists when registered, and is deleted before any task imports it.
		const gone = join(mkdtempSync(join(tmpdir(), "bgt-gone-")), "no-such-module.mjs");
		copyFileSync(fileURLToPath(HANDLERS), gone);
		await connector.registerHandler("nomodule", pathToFileURL(gone).href, "echo");
		rmSync(gone);
		await connector.registerHandler("noexport", HANDLERS, "doesNotExist");
		await start();
		const noModule = await connector.create("nomodule", { a: 1 }, { retainFor: -1 });
		const noExport = await connector.create("noexport", { a: 1 }, { retainFor: -1 });
		const moduleTask = await waitForStatus(connector, noModule, [
			TaskStatus.Failed,
			TaskStatus.Success
		]);
		const exportTask = await waitForStatus(connector, noExport, [
			TaskStatus.Failed,
			TaskStatus.Success
		]);
		expect(moduleTask.status).toBe(TaskStatus.Failed);
		expect(moduleTask.error).toMatchObject({
			name: "GeneralError",
			source: "ModuleHelper",
			message: "moduleHelper.moduleNotFound",
			properties: { module: pathToFileURL(gone).href, entry: "echo" }
		});
		// The import's own error, as the inner error.
		expect(moduleTask.error?.inner?.message).toContain("no-such-module.mjs");
		expect(exportTask.status).toBe(TaskStatus.Failed);
		expect(exportTask.error).toMatchObject({
			name: "GeneralError",
			source: "ModuleHelper",
			message: "moduleHelper.entryNotFound",
			properties: { module: HANDLERS, entry: "doesNotExist" }
		});

		await connector.registerHandler("nomodule", HANDLERS, "echo");
		const fixed = await connector.create("nomodule", { b: 2 }, { retainFor: -1 });
		expect((await waitForStatus(connector, fixed, [TaskStatus.Success])).result).toEqual({
			payload: { b: 2 }
		});
	});

	test("Export.member calls a static method bound to its class", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("static", HANDLERS, "Tasks.run");
		await connector.registerHandler("staticMissing", HANDLERS, "Tasks.nope");
		await start();
		const id = await connector.create("static", { n: 7 }, { retainFor: -1 });
		const missing = await connector.create("staticMissing", { n: 7 }, { retainFor: -1 });
		expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toEqual({
			payload: { n: 7 },
			self: "Tasks"
		});
		// An export whose member is not a function: the original's notFunction error.
		expect((await waitForStatus(connector, missing, [TaskStatus.Failed])).error).toMatchObject({
			name: "GeneralError",
			source: "ModuleHelper",
			message: "moduleHelper.notFunction",
			properties: { module: HANDLERS, entry: "Tasks.nope" }
		});
	});

	test("a bare built-in module name resolves, as the original's import() finds it", async () => {
		// The original's worker imports the specifier as given, from the working directory: a
		// Node built-in by its bare name is found there, and must be here too.
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("builtin", "util", "format");
		await start();
		const id = await connector.create("builtin", { b: 1 }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.status).toBe(TaskStatus.Success);
		expect(task.result).toBe("undefined { b: 1 }");
	});

	test("a module given as an absolute path is imported", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("path", fileURLToPath(HANDLERS), "echo");
		await start();
		const id = await connector.create("path", { p: true }, { retainFor: -1 });
		expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toEqual({
			payload: { p: true }
		});
	});

	describe("engine clone data", () => {
		const engineName = `test-engine-${executionMode}`;
		afterEach(() => {
			EngineCoreFactory.unregister(engineName);
		});

		test("the named engine's clone data is the handler's first argument", async () => {
			const cloneData = {
				config: { debug: true, types: { a: [1, 2] } },
				state: { bootstrapped: true }
			};
			const engine = { getCloneData: () => cloneData } as unknown as IEngineCore;
			EngineCoreFactory.register(engineName, () => engine);
			const { connector, start } = createConnector({ executionMode, engineName });
			await connector.registerHandler("echo", HANDLERS, "echo");
			await start();
			const id = await connector.create("echo", { x: 1 }, { retainFor: -1 });
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toEqual({
				payload: { x: 1 },
				engineCloneData: cloneData
			});
		});

		test("each task sees the engine's state and config as they are when it runs", async () => {
			// As TWIN's EngineCore: the engine's own config and state, its schemas in a new map.
			const schemas = { A: { properties: [{ property: "id", type: "string" }] } };
			const engineState = { componentStates: {} as Record<string, unknown> };
			let config: Record<string, unknown> = { debug: false, types: { a: [{ type: "x" }] } };
			const engine = {
				getCloneData: () => ({
					config,
					state: engineState,
					typeInitialisers: [],
					entitySchemas: { ...schemas },
					loggerTypeName: "node"
				})
			} as unknown as IEngineCore;
			EngineCoreFactory.register(engineName, () => engine);
			const { connector, start } = createConnector({ executionMode, engineName });
			await connector.registerHandler("echo", HANDLERS, "echo");
			await start();
			const seen = async (): Promise<Record<string, unknown>> => {
				const id = await connector.create("echo", { x: 1 }, { retainFor: -1 });
				const task = await waitForStatus(connector, id, [TaskStatus.Success]);
				return (task.result as { engineCloneData: Record<string, unknown> }).engineCloneData;
			};
			const first = await seen();
			expect(Object.keys(first)).toEqual([
				"config",
				"state",
				"typeInitialisers",
				"entitySchemas",
				"loggerTypeName"
			]);
			expect(first).toEqual(engine.getCloneData());
			// The engine changes its state in place, as components' states are saved.
			engineState.componentStates.identity = { nodeIdentity: "did:example:1" };
			expect(await seen()).toEqual(engine.getCloneData());
			config = { debug: true, types: {} };
			expect(await seen()).toEqual(engine.getCloneData());
		});
	});

	test("config.taskTimeout fails a hung attempt with a timeout error, and retries apply", async () => {
		const files = scratch();
		const { connector, start } = createConnector({
			executionMode,
			taskTimeout: 200,
			shutdownTimeout: 200
		});
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("hang", HANDLERS, "hang", callback);
		await start();
		const id = await connector.create(
			"hang",
			{ id: "h", log: files.log },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		const task = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject({ name: "TimeoutError" });
		expect(task.retriesRemaining).toBe(0);
		expect(starts(files.log)).toEqual(["h", "h"]);
		expect(seen.get(storageIdOf(id))).toEqual([
			TaskStatus.Processing,
			TaskStatus.Pending,
			TaskStatus.Processing,
			TaskStatus.Failed
		]);
	});

	test("a timeout counts from the handler's call, not from the import of its module", async () => {
		const { connector, start } = createConnector({ executionMode, shutdownTimeout: 200 });
		// A copy of its own, so no earlier test has imported it in this process.
		const slow = join(mkdtempSync(join(tmpdir(), "bgt-slow-import-")), "slow-import-handlers.mjs");
		copyFileSync(
			fileURLToPath(new URL("./fixtures/slow-import-handlers.mjs", import.meta.url)),
			slow
		);
		await connector.registerHandler("slow-import", pathToFileURL(slow).href, "echo", undefined, {
			timeout: 250
		});
		await start();
		const id = await connector.create("slow-import", { a: 1 }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.error).toBeUndefined();
		expect(task.status).toBe(TaskStatus.Success);
		expect(task.result).toEqual({ a: 1 });
	});

	test("registerHandler's timeout option applies to its type only", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, shutdownTimeout: 200 });
		await connector.registerHandler("hang", HANDLERS, "hang", undefined, { timeout: 150 });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const hung = await connector.create("hang", { id: "h" }, { retainFor: -1 });
		const slow = await connector.create(
			"gated",
			{ id: "g", log: files.log, gate: files.gate },
			{ retainFor: -1 }
		);
		const task = await waitForStatus(connector, hung, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.error).toMatchObject({ name: "TimeoutError" });
		expect(task.error?.message).toContain("150");
		// The gated task of another type had no timeout: it is still running, then succeeds.
		await waitForStarts(files.log, 1);
		expect((await connector.get(slow))?.status).toBe(TaskStatus.Processing);
		openGate(files.gate);
		expect(
			(await waitForStatus(connector, slow, [TaskStatus.Success, TaskStatus.Failed])).status
		).toBe(TaskStatus.Success);
	});

	test("a hung handler does not block other types", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, shutdownTimeout: 100 });
		await connector.registerHandler("hang", HANDLERS, "hang");
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const hung = await connector.create("hang", { id: "h", log: files.log }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) {
			ids.push(await connector.create("echo", { i }, { retainFor: -1 }));
		}
		for (const id of ids) {
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).status).toBe(
				TaskStatus.Success
			);
		}
		expect((await connector.get(hung))?.status).toBe(TaskStatus.Processing);
	});
});

describe("engine clone data in worker mode", () => {
	const engineName = "test-engine-clone-worker";
	afterEach(() => {
		EngineCoreFactory.unregister(engineName);
	});

	/**
	 * Register an engine whose clone data has the shape of TWIN's EngineCore's.
	 * @returns The engine's config, to change in place.
	 */
	function registerEngine(): Record<string, unknown> {
		const config: Record<string, unknown> = { debug: false, types: {} };
		const state = { componentStates: {} };
		const typeInitialisers: unknown[] = [];
		const engine = {
			getCloneData: () => ({
				config,
				state,
				typeInitialisers,
				entitySchemas: {},
				loggerTypeName: "node"
			})
		} as unknown as IEngineCore;
		EngineCoreFactory.register(engineName, () => engine);
		return config;
	}

	test("a handler that sets a field of its clone data's config does not change the next task's", async () => {
		registerEngine();
		// One worker, so both tasks run in the same thread.
		const { connector, start } = createConnector({ engineName, maxWorkers: 1 });
		await connector.registerHandler("silence", HANDLERS, "silenceEngine");
		await start();
		for (let i = 0; i < 3; i++) {
			const id = await connector.create("silence", undefined, { retainFor: -1 });
			const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
			expect(task.result).toEqual({
				silentBefore: null,
				keys: ["config", "state", "typeInitialisers", "entitySchemas", "loggerTypeName"]
			});
		}
	});

	test("a change made in place to the engine's config reaches the workers within seconds", async () => {
		const config = registerEngine();
		const { connector, start } = createConnector({ engineName, maxWorkers: 1 });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const flagSeen = async (): Promise<unknown> => {
			const id = await connector.create("echo", undefined, { retainFor: -1 });
			const task = await waitForStatus(connector, id, [TaskStatus.Success]);
			return (task.result as { engineCloneData: { config: { flag?: unknown } } }).engineCloneData
				.config.flag;
		};
		expect(await flagSeen()).toBeUndefined();
		config.flag = 1;
		// The pool trusts the same objects for ENGINE_CLONE_RECHECK_MS (1 s) before it compares
		// their bytes again; a task made after that sees the change.
		const deadline = Date.now() + 10_000;
		let flag = await flagSeen();
		while (flag !== 1 && Date.now() < deadline) {
			flag = await flagSeen();
		}
		expect(flag).toBe(1);
	});
});

describe("handler isolation in worker mode", () => {
	test("a spinning handler past its timeout is terminated and its worker replaced", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ maxWorkers: 1, shutdownTimeout: 200 });
		await connector.registerHandler("spin", HANDLERS, "spin", undefined, { timeout: 200 });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const spun = await connector.create("spin", { id: "s", log: files.log }, { retainFor: -1 });
		const task = await waitForStatus(connector, spun, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject({ name: "TimeoutError" });
		// The only worker was terminated: the next task runs in its replacement.
		const id = await connector.create("echo", { after: "spin" }, { retainFor: -1 });
		expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toEqual({
			payload: { after: "spin" }
		});
	});

	test("a spinning handler without timeout does not block other types", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ maxWorkers: 2, shutdownTimeout: 100 });
		await connector.registerHandler("spin", HANDLERS, "spin");
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const spun = await connector.create(
			"spin",
			{ id: "s", log: files.log, maxSpinMs: 15000 },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) {
			ids.push(await connector.create("echo", { i }, { retainFor: -1 }));
		}
		for (const id of ids) {
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).status).toBe(
				TaskStatus.Success
			);
		}
		expect((await connector.get(spun))?.status).toBe(TaskStatus.Processing);
		// stop() terminates the spinning worker within shutdownTimeout; the task stays processing.
		await connector.stop("test");
		expect((await connector.get(spun))?.status).toBe(TaskStatus.Processing);
	});

	test("a task waiting for a free worker is not timed out before its handler starts", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ maxWorkers: 1 });
		await connector.registerHandler("held", HANDLERS, "gated");
		await connector.registerHandler("quick", HANDLERS, "logged", undefined, { timeout: 1000 });
		await start();
		openGate(files.gate);
		// The held handler keeps the only worker for 1.5 s, longer than the quick task's timeout.
		const held = await connector.create(
			"held",
			{ id: "h", log: files.log, gate: files.gate, holdMs: 1500 },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		const quick = await connector.create("quick", { id: "q", log: files.log }, { retainFor: -1 });
		await waitForStatus(connector, held, [TaskStatus.Success]);
		const task = await waitForStatus(connector, quick, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.error).toBeUndefined();
		expect(task.status).toBe(TaskStatus.Success);
		expect(starts(files.log)).toEqual(["h", "q"]);
	});

	test("a handler calling process.exit fails its task; the host and later tasks carry on", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ maxWorkers: 1 });
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("exit", HANDLERS, "exit", callback);
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const exited = await connector.create(
			"exit",
			{ id: "x", log: files.log },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		const task = await waitForStatus(connector, exited, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject({ name: "WorkerError" });
		expect(starts(files.log)).toEqual(["x", "x"]);
		expect(seen.get(storageIdOf(exited))?.at(-1)).toBe(TaskStatus.Failed);
		const ids: string[] = [];
		for (let i = 0; i < 3; i++) {
			ids.push(await connector.create("echo", { i }, { retainFor: -1 }));
		}
		for (const id of ids) {
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).status).toBe(
				TaskStatus.Success
			);
		}
	});
});
