// Bad input (issue 6, item 5): every public method with every wrong kind of argument. Each call
// must fail with a TWIN error (GuardError, ValidationError or GeneralError, never a raw TypeError or
// RangeError) that names the argument, and leave storage byte-for-byte unchanged (JSON.stringify of
// the in-memory connector's store before and after). The table is summarised in
// docs/reliability.md.
//
// Then: values that pass validation today but break the connector later (extreme integers), and
// unknown handler modules, which are only discovered when a task runs.
import { TaskStatus } from "@twin.org/background-task-models";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { EntityStorageConnectorFactory } from "@twin.org/entity-storage-models";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
	EntityStorageBackgroundTaskConnector,
	type BackgroundTask,
	type IEntityStorageBackgroundTaskConnectorConfig
} from "../../src/index.js";
import { createConnector, registerStorage, waitFor, waitForStatus } from "../helpers/harness.js";
import { registerLoggingConnector } from "../helpers/logging.js";

const HANDLERS = new URL("../fixtures/reliability-handlers.mjs", import.meta.url).href;
const URN = "background-task:entity-storage:";

/**
 * The argument names an error carries: a GuardError's property, a ValidationError's failures, and
 * "taskId" for the namespace-mismatch GeneralError (its message names the task id).
 * @param err The error.
 * @returns The names.
 */
function namedArguments(err: unknown): string[] {
	const e = err as {
		message?: string;
		properties?: { property?: string; validationFailures?: { property: string }[] };
	};
	const names: string[] = [];
	if (typeof e?.properties?.property === "string") {
		names.push(e.properties.property);
	}
	for (const failure of e?.properties?.validationFailures ?? []) {
		names.push(failure.property);
	}
	if (e?.message === "entityStorageBackgroundTaskConnector.namespaceMismatch") {
		names.push("taskId");
	}
	return names;
}

/**
 * A printable form of a test value (symbols, bigints, functions and cycles included).
 * @param value The value.
 * @returns The label.
 */
function label(value: unknown): string {
	if (typeof value === "symbol" || typeof value === "bigint" || typeof value === "function") {
		return `${typeof value} ${String(value).slice(0, 30)}`;
	}
	if (typeof value === "number") {
		return Object.is(value, -0) ? "-0" : String(value);
	}
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return "cyclic object";
	}
}

const cycle: { self?: unknown } = {};
cycle.self = cycle;

/**
 * Wrong kinds for a required non-empty string argument.
 */
const NOT_STRINGS: unknown[] = [
	undefined,
	null,
	42,
	0,
	true,
	{},
	[],
	"",
	"   ",
	Symbol("s"),
	() => "x",
	10n
];

/**
 * Wrong kinds for a task id (a URN of this connector's namespace): not a string, malformed URNs,
 * and a URN of another namespace method.
 */
const BAD_TASK_IDS: unknown[] = [
	...NOT_STRINGS,
	"not-a-urn",
	"background-task:",
	"background-task:entity-storage:",
	":entity-storage:0123",
	"urn:",
	"background-task:other-storage:0123456789abcdef0123456789abcdef"
];

/**
 * Task ids that are not wrong, as the original decides: only the URN's namespace method
 * (`entity-storage`) is checked, so a URN of another namespace identifier with that method is an
 * id of this connector.
 */
const OTHER_IDENTIFIER_TASK_IDS: string[] = [
	"other:entity-storage:0123456789abcdef0123456789abcdef",
	"urn:other:entity-storage:0123456789abcdef0123456789abcdef"
];

/**
 * Wrong kinds for an optional integer with a minimum: below it, far below, fractional, not finite,
 * a numeric string, and other non-numbers. Huge values are listed per field below, where they
 * break something (timers hold at most 2^31 - 1 ms, a Date at most 8.64e15 ms since 1970).
 * @param min The minimum.
 * @returns The values.
 */
function badIntegers(min: number): unknown[] {
	return [
		min - 1,
		min - 1000,
		min + 0.5,
		Number.NaN,
		Infinity,
		-Infinity,
		String(min + 1),
		null,
		true,
		{}
	];
}

/**
 * Beyond the largest delay a timer can hold (setTimeout clamps it to 1 ms, with a warning).
 */
const BEYOND_TIMER = [2 ** 31, 1e20];

/**
 * Beyond the Date range once added to now (toISOString throws a RangeError).
 */
const BEYOND_DATE = [Number.MAX_SAFE_INTEGER, 1e20];

/**
 * Values that JSON cannot hold (or would silently mangle).
 */
const NOT_JSON: unknown[] = [
	() => 1,
	Symbol("payload"),
	10n,
	{ amount: 10n },
	cycle,
	Number.NaN,
	Infinity,
	{ ratio: -Infinity },
	new Map([["a", 1]]),
	new Set([1]),
	new Uint8Array(2),
	{ callback: () => 1 },
	[1, undefined],
	{ toJSON: () => 10n }
];

interface IBadCase {
	method: string;
	label: string;
	names: string[];
	call: (connector: EntityStorageBackgroundTaskConnector) => Promise<unknown>;
}

/**
 * The table: method, argument label, the argument name the error must carry, the call.
 * Create calls use the type "idle", which has no handler, so a create that wrongly passes leaves a
 * pending task that never runs (and the storage comparison reports it).
 * @returns The cases.
 */
function badCases(): IBadCase[] {
	const cases: IBadCase[] = [];
	const add = (
		method: string,
		what: string,
		value: unknown,
		names: string[],
		call: IBadCase["call"]
	): void => {
		cases.push({ method, label: `${what} = ${label(value)}`, names, call });
	};

	for (const value of NOT_STRINGS) {
		add("create", "type", value, ["type"], c => c.create(value as string, { ok: true }));
	}
	for (const value of NOT_JSON) {
		add("create", "payload", value, ["payload"], c => c.create("idle", value));
	}
	for (const value of ["options", 5, [], null, true]) {
		add("create", "options", value, ["options"], c => c.create("idle", {}, value as object));
	}
	for (const [option, min] of [
		["retryCount", 1],
		["retryInterval", 1],
		["retainFor", -1]
	] as const) {
		for (const value of badIntegers(min)) {
			add("create", `options.${option}`, value, [`options.${option}`], c =>
				c.create("idle", {}, { [option]: value as number })
			);
		}
	}
	// Integers that pass "integer >= min" but put dates beyond what a Date can hold.
	for (const option of ["retryInterval", "retainFor"] as const) {
		for (const value of BEYOND_DATE) {
			add("create", `options.${option}`, value, [`options.${option}`], c =>
				c.create("idle", {}, { [option]: value })
			);
		}
	}

	for (const method of ["get", "retry", "remove", "cancel"] as const) {
		for (const value of BAD_TASK_IDS) {
			add(method, "taskId", value, ["taskId"], c => c[method](value as string));
		}
	}

	for (const value of [42, {}, [], "", "   ", null, Symbol("t")]) {
		add("query", "taskType", value, ["taskType"], c => c.query(value as string));
	}
	for (const value of ["done", "PENDING", "", 42, {}, null]) {
		add("query", "taskStatus", value, ["taskStatus"], c => c.query(undefined, value as TaskStatus));
	}
	for (const value of ["id", "payload", "dateNextProcess", "__proto__", "", 42, null]) {
		add("query", "sortProperty", value, ["sortProperty"], c =>
			c.query(undefined, undefined, value as "dateCreated")
		);
	}
	for (const value of ["up", "", 1, {}, null]) {
		add("query", "sortDirection", value, ["sortDirection"], c =>
			c.query(undefined, undefined, undefined, value as never)
		);
	}
	for (const value of [42, {}, [], null, true]) {
		add("query", "cursor", value, ["cursor"], c =>
			c.query(undefined, undefined, undefined, undefined, value as string)
		);
	}
	for (const value of badIntegers(1)) {
		add("query", "pageSize", value, ["pageSize"], c =>
			c.query(undefined, undefined, undefined, undefined, undefined, value as number)
		);
	}

	for (const value of NOT_STRINGS) {
		add("registerHandler", "taskType", value, ["taskType"], c =>
			c.registerHandler(value as string, HANDLERS, "work")
		);
		add("registerHandler", "module", value, ["module"], c =>
			c.registerHandler("reg-target", value as string, "work")
		);
		add("registerHandler", "method", value, ["method"], c =>
			c.registerHandler("reg-target", HANDLERS, value as string)
		);
	}
	for (const value of ["callback", 42, {}, null, true]) {
		add("registerHandler", "stateChangeCallback", value, ["stateChangeCallback"], c =>
			c.registerHandler("reg-target", HANDLERS, "work", value as never)
		);
	}
	for (const value of ["options", 5, [], null, true]) {
		add("registerHandler", "options", value, ["options"], c =>
			c.registerHandler("reg-target", HANDLERS, "work", undefined, value as object)
		);
	}
	for (const option of ["concurrency", "timeout"] as const) {
		for (const value of badIntegers(1)) {
			add("registerHandler", `options.${option}`, value, [`options.${option}`], c =>
				c.registerHandler("reg-target", HANDLERS, "work", undefined, { [option]: value as number })
			);
		}
	}
	// A timeout a timer cannot hold.
	for (const value of BEYOND_TIMER) {
		add("registerHandler", "options.timeout", value, ["options.timeout"], c =>
			c.registerHandler("reg-target", HANDLERS, "work", undefined, { timeout: value })
		);
	}

	for (const value of NOT_STRINGS.filter(v => v !== undefined && v !== "   ")) {
		add("retryFailed", "type", value, ["type"], c => c.retryFailed(value as string));
	}
	for (const value of ["options", 5, [], null, true]) {
		add("retryFailed", "options", value, ["options"], c => c.retryFailed("known", value as object));
	}
	for (const value of badIntegers(1)) {
		add("retryFailed", "options.limit", value, ["options.limit"], c =>
			c.retryFailed(undefined, { limit: value as number })
		);
	}

	for (const value of NOT_STRINGS.filter(v => v !== "   ")) {
		add("unregisterHandler", "taskType", value, ["taskType"], c =>
			c.unregisterHandler(value as string)
		);
	}
	return cases;
}

/**
 * Wrong constructor configs: [label, config, argument name].
 * @returns The cases.
 */
function badConfigs(): [string, unknown, string][] {
	const cases: [string, unknown, string][] = [];
	for (const value of ["config", 42, [], null, true]) {
		cases.push([`config = ${label(value)}`, value, "config"]);
	}
	const minimums: [keyof IEntityStorageBackgroundTaskConnectorConfig, number][] = [
		["taskInterval", 0],
		["retryInterval", 1],
		["cleanupInterval", 1000],
		["concurrency", 1],
		["maxWorkers", 1],
		["taskTimeout", 1],
		["shutdownTimeout", 0],
		["pollInterval", 100],
		["maxWorkerMemoryMb", 16],
		["failedRetainFor", -1]
	];
	for (const [field, min] of minimums) {
		for (const value of badIntegers(min)) {
			cases.push([`config.${field} = ${label(value)}`, { [field]: value }, `config.${field}`]);
		}
	}
	// Timer-held values beyond 2^31 - 1 ms, a retry interval beyond the Date range, and a worker
	// count the pool would try to start at once (piscina starts minThreads = maxWorkers threads).
	for (const field of ["taskTimeout", "shutdownTimeout"] as const) {
		for (const value of BEYOND_TIMER) {
			cases.push([`config.${field} = ${label(value)}`, { [field]: value }, `config.${field}`]);
		}
	}
	for (const value of BEYOND_DATE) {
		cases.push([
			`config.retryInterval = ${label(value)}`,
			{ retryInterval: value },
			"config.retryInterval"
		]);
		cases.push([
			`config.failedRetainFor = ${label(value)}`,
			{ failedRetainFor: value },
			"config.failedRetainFor"
		]);
	}
	cases.push(["config.maxWorkers = 1e20", { maxWorkers: 1e20 }, "config.maxWorkers"]);
	for (const value of ["thread", "", 1, null]) {
		cases.push([
			`config.executionMode = ${label(value)}`,
			{ executionMode: value },
			"config.executionMode"
		]);
	}
	for (const value of ["", "   ", 42, null]) {
		cases.push([`config.engineName = ${label(value)}`, { engineName: value }, "config.engineName"]);
	}
	return cases;
}

describe("bad input: every public method, every wrong kind of argument", () => {
	const inner = new MemoryEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask"
	});
	const { storageType } = registerStorage(inner);
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: storageType,
		config: { executionMode: "inline" }
	});

	beforeAll(async () => {
		// Something to protect: tasks of every status but processing.
		await connector.registerHandler("known", HANDLERS, "work");
		await connector.start("test");
		const done = await connector.create("known", { key: "done" }, { retainFor: -1 });
		const failed = await connector.create(
			"known",
			{ key: "failed", failTimes: 1 },
			{ retainFor: -1 }
		);
		await waitForStatus(connector, done, ["success"]);
		await waitForStatus(connector, failed, ["failed"]);
		const cancelled = await connector.create("idle", { key: "cancelled" }, { retainFor: -1 });
		await connector.cancel(cancelled);
		await connector.create("idle", { key: "pending" }, { retryCount: 2, retainFor: 60000 });
		expect(
			inner
				.getStore()
				.map(t => t.status)
				.sort()
		).toEqual(["cancelled", "failed", "pending", "success"]);
	});

	afterAll(async () => {
		await connector.stop("test");
	});

	const cases = badCases();
	test.each(cases.map(c => [`${c.method}(${c.label})`, c] as const))("%s", async (_, badCase) => {
		const before = JSON.stringify(inner.getStore());
		let error: unknown;
		try {
			await badCase.call(connector);
		} catch (err) {
			error = err;
		}
		const after = JSON.stringify(inner.getStore());
		expect(error, "the call must fail").toBeDefined();
		expect(
			["GuardError", "ValidationError", "GeneralError"],
			`a TWIN error, got ${String(error)}`
		).toContain((error as Error).name);
		expect(namedArguments(error)).toEqual(expect.arrayContaining(badCase.names));
		expect(after === before, "storage unchanged").toBe(true);
	});

	test.each(badConfigs())("constructor(%s)", (_, config, name) => {
		const before = JSON.stringify(inner.getStore());
		let error: unknown;
		try {
			new EntityStorageBackgroundTaskConnector({
				backgroundTaskEntityStorageType: storageType,
				config: config as IEntityStorageBackgroundTaskConnectorConfig
			});
		} catch (err) {
			error = err;
		}
		expect(error, "the constructor must throw").toBeDefined();
		expect((error as Error).name).toBe("ValidationError");
		expect(namedArguments(error)).toContain(name);
		expect(JSON.stringify(inner.getStore())).toBe(before);
	});

	test.each([
		["options = 42", 42, "options"],
		["options = 'text'", "text", "options"],
		[
			"backgroundTaskEntityStorageType = 'not-registered'",
			{ backgroundTaskEntityStorageType: "not-registered" },
			"storageType"
		],
		[
			"backgroundTaskEntityStorageType = 42",
			{ backgroundTaskEntityStorageType: 42 },
			"options.backgroundTaskEntityStorageType"
		],
		["loggingComponentType = 42", { loggingComponentType: 42 }, "options.loggingComponentType"]
	] as const)("constructor(%s)", (_, options, name) => {
		// The default storage type is registered, so only the argument under test is wrong.
		EntityStorageConnectorFactory.register("background-task", () => inner);
		let error: unknown;
		try {
			new EntityStorageBackgroundTaskConnector(options as never);
		} catch (err) {
			error = err;
		}
		expect(error, "the constructor must throw").toBeDefined();
		const e = error as { name: string; properties?: { [key: string]: unknown } };
		expect(["GuardError", "ValidationError", "GeneralError"]).toContain(e.name);
		// storageNotRegistered names the storage type in its properties; the others name the option.
		const names = [...namedArguments(error), ...Object.keys(e.properties ?? {})];
		expect(names).toContain(name);
	});

	test.each(
		(["get", "retry", "remove", "cancel"] as const).flatMap(method =>
			OTHER_IDENTIFIER_TASK_IDS.map(
				taskId => [`${method}(taskId = "${taskId}")`, method, taskId] as const
			)
		)
	)(
		"%s is accepted as an id of this connector (an unknown one): no error, storage unchanged",
		async (_, method, taskId) => {
			const before = JSON.stringify(inner.getStore());
			await expect(connector[method](taskId)).resolves.toBeUndefined();
			expect(JSON.stringify(inner.getStore())).toBe(before);
		}
	);

	test("the table covers every public method", () => {
		const methods = new Set(cases.map(c => c.method));
		expect([...methods].sort()).toEqual(
			[
				"cancel",
				"create",
				"get",
				"query",
				"registerHandler",
				"remove",
				"retry",
				"retryFailed",
				"unregisterHandler"
			].sort()
		);
	});
});

describe("extreme values that are accepted on purpose", () => {
	test("huge counts, page sizes and the largest accepted intervals work and print no timer warning", async () => {
		const warnings: string[] = [];
		const onWarning = (warning: Error): void => {
			warnings.push(`${warning.name}: ${warning.message}`);
		};
		process.on("warning", onWarning);
		try {
			const inner = new MemoryEntityStorageConnector<BackgroundTask>({
				entitySchema: "BackgroundTask"
			});
			const { connector, start } = createConnector(
				{
					executionMode: "inline",
					concurrency: 1e20,
					// The largest values accepted: a timer delay cannot exceed 2^31 - 1 ms.
					taskInterval: 2 ** 31 - 1,
					cleanupInterval: 2 ** 31 - 1,
					pollInterval: 2 ** 31 - 1,
					maxWorkerMemoryMb: 1_048_576
				},
				inner
			);
			await connector.registerHandler("work", HANDLERS, "work", undefined, { concurrency: 1e20 });
			await start();
			// retryCount 1e20 is "retry for ever" in practice (1e20 - 1 === 1e20).
			const urn = await connector.create(
				"work",
				{ key: "extreme" },
				{ retryCount: 1e20, retainFor: -1 }
			);
			expect((await waitForStatus(connector, urn, ["success", "failed"])).status).toBe(
				TaskStatus.Success
			);
			const page = await connector.query(
				undefined,
				undefined,
				undefined,
				undefined,
				undefined,
				1e20
			);
			expect(page.entities.map(t => t.id)).toEqual([urn.slice(URN.length)]);
			await connector.stop("test");
			expect(warnings).toEqual([]);
		} finally {
			process.off("warning", onWarning);
		}
	});
});

describe("unknown handler modules and methods", () => {
	test.each([
		["an absolute path that does not exist", "/nonexistent/reliability/handler.mjs"],
		["a file URL that does not exist", "file:///nonexistent/reliability/handler.mjs"],
		["a relative path that does not exist", "./nonexistent/handler.mjs"],
		["a package that is not installed", "@twin-fast/no-such-package"]
	])(
		"%s: registered with a moduleNotFound warning, storage unchanged; its task fails naming module, other types run",
		async (_, module) => {
			const inner = new MemoryEntityStorageConnector<BackgroundTask>({
				entitySchema: "BackgroundTask"
			});
			const logger = registerLoggingConnector();
			const { connector, start } = createConnector({ executionMode: "inline" }, inner, {
				loggingConnectorType: logger.name
			});
			await connector.registerHandler("known", HANDLERS, "work");
			await start();
			const pending = await connector.create("missing", { key: "before" }, { retainFor: -1 });
			// Nothing handles the type yet: the task stays pending.
			expect((await connector.get(pending))?.status).toBe(TaskStatus.Pending);
			const before = JSON.stringify(inner.getStore());
			await expect(connector.registerHandler("missing", module, "work")).resolves.toBeUndefined();
			expect(JSON.stringify(inner.getStore())).toBe(before);
			expect(
				logger.entries.filter(e => e.message === "moduleNotFound").map(e => [e.level, e.data])
			).toEqual([["warn", { type: "missing", module, cwd: process.cwd() }]]);
			// Registered: the waiting task now runs, and fails with an error naming the module.
			const task = await waitForStatus(connector, pending, ["failed", "success"]);
			expect(task.status).toBe(TaskStatus.Failed);
			expect(task.error).toMatchObject({
				name: "GeneralError",
				source: "ModuleHelper",
				message: "moduleHelper.moduleNotFound",
				properties: { module, entry: "work" }
			});
			// The scheduler goes on serving other types.
			const other = await connector.create("known", { key: "after" }, { retainFor: -1 });
			expect((await waitForStatus(connector, other, ["success", "failed"])).status).toBe(
				TaskStatus.Success
			);
		}
	);

	test("an export that does not exist: registration is accepted, the task fails clearly", async () => {
		const inner = new MemoryEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask"
		});
		const { connector, start } = createConnector({ executionMode: "inline" }, inner);
		await start();
		const before = JSON.stringify(inner.getStore());
		await connector.registerHandler("missing", HANDLERS, "noSuchExport");
		expect(JSON.stringify(inner.getStore())).toBe(before);

		const urn = await connector.create("missing", { key: "m" }, { retainFor: -1 });
		const task = await waitForStatus(connector, urn, ["failed", "success"]);
		expect(task.status).toBe(TaskStatus.Failed);
		expect(task.error).toMatchObject({
			name: "GeneralError",
			source: "ModuleHelper",
			message: "moduleHelper.entryNotFound",
			properties: { module: HANDLERS, entry: "noSuchExport" }
		});
	});
});

describe("values that pass validation must not break the connector later", () => {
	test("an attempt failing with a retryInterval beyond the Date range is not left processing", async () => {
		const inner = new MemoryEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask"
		});
		const { connector, start } = createConnector(
			{ executionMode: "inline", shutdownTimeout: 2000 },
			inner
		);
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		let urn: string;
		try {
			urn = await connector.create(
				"work",
				{ key: "far-retry", failTimes: 1 },
				{ retryCount: 1, retryInterval: Number.MAX_SAFE_INTEGER, retainFor: -1 }
			);
		} catch (err) {
			// Rejected at the boundary: fine.
			expect(namedArguments(err)).toContain("options.retryInterval");
			return;
		}
		await waitFor(
			() => inner.getStore().some(t => t.status !== TaskStatus.Pending),
			5000,
			"the attempt"
		);
		await connector.stop("test");
		// stop() waited for the attempt to be recorded: pending with a retry, or failed. Never stuck.
		expect((await connector.get(urn))?.status).not.toBe(TaskStatus.Processing);
	});

	test("a task with a retainFor beyond the Date range does not break get() or query()", async () => {
		const inner = new MemoryEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask"
		});
		const { connector, start } = createConnector({ executionMode: "inline" }, inner);
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		const other = await connector.create("work", { key: "normal" }, { retainFor: -1 });
		let urn: string;
		try {
			urn = await connector.create(
				"work",
				{ key: "far-retain" },
				{ retainFor: Number.MAX_SAFE_INTEGER }
			);
		} catch (err) {
			expect(namedArguments(err)).toContain("options.retainFor");
			return;
		}
		await waitFor(
			() => inner.getStore().every(t => t.status === TaskStatus.Success),
			5000,
			"both tasks to finish"
		);
		expect((await connector.get(other))?.status).toBe(TaskStatus.Success);
		await expect(connector.get(urn)).resolves.toBeDefined();
		await expect(connector.query()).resolves.toMatchObject({ entities: expect.any(Array) });
	});

	test("a taskTimeout of 2^31 ms (24.8 days) does not time every task out at once", async () => {
		let created: ReturnType<typeof createConnector>;
		try {
			created = createConnector({ executionMode: "inline", taskTimeout: 2 ** 31 });
		} catch (err) {
			expect(namedArguments(err)).toContain("config.taskTimeout");
			return;
		}
		const { connector, start } = created;
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		const urn = await connector.create("work", { key: "slow", delayMs: 20 }, { retainFor: -1 });
		const task = await waitForStatus(connector, urn, ["success", "failed"]);
		expect({ status: task.status, error: task.error?.name }).toEqual({
			status: TaskStatus.Success,
			error: undefined
		});
	});

	test("a shutdownTimeout of 2^31 ms makes stop() wait for a running task", async () => {
		let created: ReturnType<typeof createConnector>;
		try {
			created = createConnector({ executionMode: "inline", shutdownTimeout: 2 ** 31 });
		} catch (err) {
			expect(namedArguments(err)).toContain("config.shutdownTimeout");
			return;
		}
		const { connector, start, storage } = created;
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		const urn = await connector.create("work", { key: "running", delayMs: 50 }, { retainFor: -1 });
		await waitForStatus(connector, urn, ["processing"]);
		await connector.stop("test");
		expect((await storage.get(urn.slice(URN.length)))?.status).toBe(TaskStatus.Success);
	});
});
