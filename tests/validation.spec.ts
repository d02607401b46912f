// Input validation through the public API: constructor config, create arguments and payloads,
// task URNs and query arguments. Rejected input never writes to storage.
import { TaskStatus } from "@twin.org/background-task-models";
import { SortDirection } from "@twin.org/entity";
import { afterEach, describe, expect, test, vi } from "vitest";
import {
	EntityStorageBackgroundTaskConnector,
	type IEntityStorageBackgroundTaskConnectorConfig
} from "../src/index.js";
import { createConnector, registerStorage } from "./helpers/harness.js";
import { errorOf, failedProperties, seed, snapshot, taskEntity } from "./helpers/tasks.js";

afterEach(() => {
	vi.restoreAllMocks();
});

describe("constructor config", () => {
	const badFields: [keyof IEntityStorageBackgroundTaskConnectorConfig, unknown][] = [
		["taskInterval", -1],
		["taskInterval", 1.5],
		["retryInterval", 0],
		["cleanupInterval", 999],
		["concurrency", 0],
		["maxWorkers", 0],
		["taskTimeout", 0],
		["shutdownTimeout", -1],
		["pollInterval", 99],
		["maxWorkerMemoryMb", 15],
		["engineName", ""],
		["instanceId", ""],
		["instanceId", "x".repeat(257)],
		["executionMode", "thread"],
		["failedRetainFor", -2],
		["failedRetainFor", 1.5],
		["failedRetainFor", Number.MAX_SAFE_INTEGER]
	];

	test.each(badFields)(
		"config.%s = %j is rejected with a ValidationError naming it",
		async (field, value) => {
			const { storageType, storage } = registerStorage();
			const err = await errorOf(
				() =>
					new EntityStorageBackgroundTaskConnector({
						backgroundTaskEntityStorageType: storageType,
						config: { [field]: value } as IEntityStorageBackgroundTaskConnectorConfig
					})
			);
			expect(err.name).toBe("ValidationError");
			expect(err.source).toBe("EntityStorageBackgroundTaskConnector");
			expect(failedProperties(err)).toEqual([`config.${field}`]);
			expect(err.properties?.validationFailures?.[0].properties?.value).toEqual(value);
			expect(snapshot(storage)).toEqual([]);
		}
	);

	test.each([
		["concurrency", "2"],
		["maxWorkers", 2.5],
		["pollInterval", null],
		["engineName", 5],
		["instanceId", 5],
		["failedRetainFor", "60000"]
	] as const)("config.%s of the wrong type (%j) is rejected", async (field, value) => {
		const { storageType } = registerStorage();
		const err = await errorOf(
			() =>
				new EntityStorageBackgroundTaskConnector({
					backgroundTaskEntityStorageType: storageType,
					config: { [field]: value } as unknown as IEntityStorageBackgroundTaskConnectorConfig
				})
		);
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual([`config.${field}`]);
	});

	test("several bad fields give one ValidationError listing each of them", async () => {
		const { storageType, storage } = registerStorage();
		const err = await errorOf(
			() =>
				new EntityStorageBackgroundTaskConnector({
					backgroundTaskEntityStorageType: storageType,
					config: {
						taskInterval: -1,
						retryInterval: 0,
						cleanupInterval: 10,
						concurrency: 0,
						maxWorkers: 0,
						taskTimeout: 0,
						shutdownTimeout: -5,
						pollInterval: 1,
						maxWorkerMemoryMb: 1,
						engineName: "",
						executionMode: "bogus" as "worker"
					}
				})
		);
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(
			[
				"config.taskInterval",
				"config.retryInterval",
				"config.cleanupInterval",
				"config.concurrency",
				"config.maxWorkers",
				"config.taskTimeout",
				"config.shutdownTimeout",
				"config.pollInterval",
				"config.maxWorkerMemoryMb",
				"config.engineName",
				"config.executionMode"
			].sort()
		);
		expect(snapshot(storage)).toEqual([]);
	});

	test("a config that is not an object is rejected", async () => {
		const { storageType } = registerStorage();
		const err = await errorOf(
			() =>
				new EntityStorageBackgroundTaskConnector({
					backgroundTaskEntityStorageType: storageType,
					config: "fast" as unknown as IEntityStorageBackgroundTaskConnectorConfig
				})
		);
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(["config"]);
	});

	test("the minimum value of every field is accepted", () => {
		const { connector } = createConnector({
			taskInterval: 0,
			retryInterval: 1,
			cleanupInterval: 1000,
			concurrency: 1,
			maxWorkers: 1,
			taskTimeout: 1,
			shutdownTimeout: 0,
			pollInterval: 100,
			maxWorkerMemoryMb: 16,
			engineName: "e",
			executionMode: "inline",
			failedRetainFor: -1
		});
		expect(connector.CLASS_NAME).toBe("EntityStorageBackgroundTaskConnector");
	});

	test("no options at all use the default storage name background-task", async () => {
		const err = await errorOf(() => new EntityStorageBackgroundTaskConnector());
		expect(err.name).toBe("GeneralError");
		expect(err.message).toBe("entityStorageBackgroundTaskConnector.storageNotRegistered");
		expect(err.properties?.storageType).toBe("background-task");
	});

	test("a missing storage registration gives a clear GeneralError naming the storage type", async () => {
		const err = await errorOf(
			() =>
				new EntityStorageBackgroundTaskConnector({
					backgroundTaskEntityStorageType: "no-such-storage"
				})
		);
		expect(err.name).toBe("GeneralError");
		expect(err.source).toBe("EntityStorageBackgroundTaskConnector");
		expect(err.message).toBe("entityStorageBackgroundTaskConnector.storageNotRegistered");
		expect(err.properties?.storageType).toBe("no-such-storage");
	});
});

describe("create validation", () => {
	test.each([
		["an empty string", ""],
		["undefined", undefined],
		["a number", 5]
	])("type as %s is rejected and nothing is stored", async (_, type) => {
		const { connector, storage } = createConnector();
		const err = await errorOf(() => connector.create(type as string, { a: 1 }));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(["type"]);
		expect(snapshot(storage)).toEqual([]);
	});

	test.each([
		["retryCount", 0],
		["retryCount", 1.5],
		["retryCount", "2"],
		["retryCount", -1],
		["retryInterval", 0],
		["retryInterval", 1.5],
		["retryInterval", "100"],
		["retainFor", -2],
		["retainFor", 0.5],
		["retainFor", "0"]
	])("options.%s = %j is rejected and nothing is stored", async (field, value) => {
		const { connector, storage } = createConnector();
		const err = await errorOf(() => connector.create("t", { a: 1 }, { [field]: value } as never));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual([`options.${field}`]);
		expect(snapshot(storage)).toEqual([]);
	});

	test("options that are not an object are rejected", async () => {
		const { connector, storage } = createConnector();
		const err = await errorOf(() => connector.create("t", undefined, "soon" as never));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(["options"]);
		expect(snapshot(storage)).toEqual([]);
	});

	test("several bad arguments are reported together", async () => {
		const { connector, storage } = createConnector();
		const err = await errorOf(() =>
			connector.create("", () => 1, { retryCount: 0, retryInterval: 0, retainFor: -2 })
		);
		expect(failedProperties(err)).toEqual(
			["type", "payload", "options.retryCount", "options.retryInterval", "options.retainFor"].sort()
		);
		expect(snapshot(storage)).toEqual([]);
	});

	test.each([
		["retryCount", 1],
		["retryInterval", 1],
		["retainFor", -1],
		["retainFor", 0]
	])("the boundary options.%s = %j is accepted", async (field, value) => {
		const { connector, storage } = createConnector();
		await connector.create("t", undefined, { [field]: value });
		expect(snapshot(storage)).toHaveLength(1);
	});

	const cycle: { [key: string]: unknown } = { a: 1 };
	cycle.self = cycle;
	const deepCycle: { [key: string]: unknown } = { list: [] };
	(deepCycle.list as unknown[]).push({ back: deepCycle });

	const badPayloads: [string, unknown][] = [
		["a function", () => 1],
		["a symbol", Symbol("s")],
		["a bigint", BigInt(1)],
		["a cycle", cycle],
		["a cycle through an array", deepCycle],
		["NaN", Number.NaN],
		["Infinity", Number.POSITIVE_INFINITY],
		["a Map", new Map([["a", 1]])],
		["a Set", new Set([1])],
		["a typed array", new Uint8Array([1, 2])],
		["a nested function", { a: { b: [1, () => 2] } }],
		["a nested bigint", { n: BigInt(2) }],
		["a nested NaN", { a: [Number.NaN] }],
		["a nested Map", { m: new Map() }],
		["undefined inside an array", [1, undefined]]
	];

	test.each(badPayloads)(
		"a payload with %s is rejected naming payload, nothing stored",
		async (_, payload) => {
			const { connector, storage } = createConnector();
			const err = await errorOf(() => connector.create("t", payload));
			expect(err.name).toBe("ValidationError");
			expect(failedProperties(err)).toEqual(["payload"]);
			const problem = err.properties?.validationFailures?.[0].properties?.problem;
			expect(problem).toMatch(/^payload/);
			expect(snapshot(storage)).toEqual([]);
			expect((await connector.query()).entities).toEqual([]);
		}
	);

	test.each([
		["a bigint", () => BigInt(1)],
		["a function", () => () => 1],
		["an object holding a function", () => ({ f: () => 1 })]
	])(
		"a payload whose toJSON returns %s is rejected naming payload, nothing stored",
		async (_, toJSON) => {
			const { connector, storage } = createConnector();
			const err = await errorOf(() => connector.create("t", { inner: { toJSON } }));
			expect(err.name).toBe("ValidationError");
			expect(failedProperties(err)).toEqual(["payload"]);
			expect(snapshot(storage)).toEqual([]);
		}
	);

	test("a top-level payload whose toJSON returns undefined is rejected naming payload, nothing stored", async () => {
		const { connector, storage } = createConnector();
		const err = await errorOf(() => connector.create("t", { toJSON: () => undefined }));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(["payload"]);
		expect(snapshot(storage)).toEqual([]);
	});

	test("a payload problem names the path of the bad value", async () => {
		const { connector } = createConnector();
		const err = await errorOf(() => connector.create("t", { a: { b: [1, () => 2] } }));
		expect(err.properties?.validationFailures?.[0].properties?.problem).toContain("payload.a.b[1]");
	});

	test.each([
		["a string", "text"],
		["a number", 42],
		["zero", 0],
		["false", false],
		["an array", [1, "two", { three: 3 }]],
		["an object with a Date (toJSON)", { when: new Date(0) }],
		["an object with an undefined property", { a: 1, b: undefined }]
	])("a JSON payload (%s) is accepted", async (_, payload) => {
		const { connector, storage } = createConnector();
		const id = await connector.create("t", payload);
		expect(snapshot(storage)).toHaveLength(1);
		expect((await connector.get(id))?.payload).toEqual(JSON.parse(JSON.stringify(payload)));
	});
});

describe("task id (URN) validation", () => {
	const operations = ["get", "retry", "remove", "cancel"] as const;

	/**
	 * A connector over a storage holding one pending task with retainFor -1.
	 * @returns The connector, storage and the stored state before the call.
	 */
	async function withOneTask(): Promise<{
		connector: EntityStorageBackgroundTaskConnector;
		before: ReturnType<typeof snapshot>;
		storage: ReturnType<typeof createConnector>["storage"];
	}> {
		const { connector, storage } = createConnector();
		await seed(storage, taskEntity({ retainFor: -1, dateNextProcess: "2099-01-01T00:00:00.000Z" }));
		return { connector, storage, before: snapshot(storage) };
	}

	describe.each(operations)("%s", operation => {
		test.each([
			["not a URN", "not-a-urn"],
			["an empty string", ""],
			["only colons", ":::"],
			["a trailing empty part", "background-task:entity-storage:"]
		])("rejects %s with a GuardError naming taskId, nothing written", async (_, taskId) => {
			const { connector, storage, before } = await withOneTask();
			const err = await errorOf(() => connector[operation](taskId));
			expect(err.name).toBe("GuardError");
			expect(err.source).toBe("EntityStorageBackgroundTaskConnector");
			expect(err.properties?.property).toBe("taskId");
			expect(snapshot(storage)).toEqual(before);
		});

		test("rejects a non-string id with a GuardError", async () => {
			const { connector } = await withOneTask();
			const err = await errorOf(() => connector[operation](42 as unknown as string));
			expect(err.name).toBe("GuardError");
			expect(err.properties?.property).toBe("taskId");
		});

		test("rejects a URN without the id part with a GuardError naming taskId", async () => {
			const { connector, storage, before } = await withOneTask();
			const err = await errorOf(() => connector[operation]("background-task:entity-storage"));
			expect(err.name).toBe("GuardError");
			expect(err.source).toBe("EntityStorageBackgroundTaskConnector");
			expect(err.properties?.property).toBe("taskId");
			expect(snapshot(storage)).toEqual(before);
		});

		test.each([
			["another connector namespace", "background-task:other:0123456789abcdef0123456789abcdef"],
			[
				"a differently cased namespace",
				"background-task:Entity-Storage:0123456789abcdef0123456789abcdef"
			]
		])("rejects %s with GeneralError namespaceMismatch, nothing written", async (_, taskId) => {
			const { connector, storage, before } = await withOneTask();
			const err = await errorOf(() => connector[operation](taskId));
			expect(err.name).toBe("GeneralError");
			expect(err.message).toBe("entityStorageBackgroundTaskConnector.namespaceMismatch");
			expect(err.properties).toEqual({ namespace: "entity-storage", id: taskId });
			expect(snapshot(storage)).toEqual(before);
		});

		test("accepts another URN namespace identifier with the entity-storage method, as the original (only the method is checked)", async () => {
			const { connector, storage, before } = await withOneTask();
			const result = await connector[operation](
				"document:entity-storage:ffffffffffffffffffffffffffffffff"
			);
			expect(result).toBeUndefined();
			expect(snapshot(storage)).toEqual(before);
		});

		test("an unknown id is not an error and writes nothing", async () => {
			const { connector, storage, before } = await withOneTask();
			const result = await connector[operation](
				"background-task:entity-storage:ffffffffffffffffffffffffffffffff"
			);
			expect(result).toBeUndefined();
			expect(snapshot(storage)).toEqual(before);
		});
	});

	test("get finds a task by a URN of another namespace identifier with the entity-storage method", async () => {
		const { connector, storage } = createConnector();
		const entity = taskEntity({ retainFor: -1, dateNextProcess: "2099-01-01T00:00:00.000Z" });
		await seed(storage, entity);
		expect((await connector.get(`document:entity-storage:${entity.id}`))?.id).toBe(entity.id);
	});

	test("a storage query is never reached for a rejected URN", async () => {
		const { connector, storage } = createConnector();
		const spies = [
			vi.spyOn(storage, "get"),
			vi.spyOn(storage, "set"),
			vi.spyOn(storage, "remove"),
			vi.spyOn(storage, "query")
		];
		for (const operation of operations) {
			await errorOf(() => connector[operation]("nope"));
			await errorOf(() => connector[operation]("background-task:other:abc"));
		}
		for (const spy of spies) {
			expect(spy).not.toHaveBeenCalled();
		}
	});
});

describe("query argument validation", () => {
	test.each([
		["taskType", ["", undefined]],
		["taskStatus", [undefined, "done"]],
		["sortProperty", [undefined, undefined, "type"]],
		["sortDirection", [undefined, undefined, undefined, "up"]],
		["cursor", [undefined, undefined, undefined, undefined, 5]],
		["pageSize", [undefined, undefined, undefined, undefined, undefined, 0]],
		["pageSize", [undefined, undefined, undefined, undefined, undefined, 2.5]]
	] as const)("a bad %s is rejected with a ValidationError naming it", async (property, args) => {
		const { connector, storage } = createConnector();
		const query = vi.spyOn(storage, "query");
		const err = await errorOf(() => (connector.query as (...a: unknown[]) => unknown)(...args));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual([property]);
		expect(query).not.toHaveBeenCalled();
	});

	test("every bad argument is named in one error", async () => {
		const { connector } = createConnector();
		const err = await errorOf(() =>
			connector.query(
				"",
				"done" as TaskStatus,
				"type" as "status",
				"up" as SortDirection,
				5 as unknown as string,
				0
			)
		);
		expect(failedProperties(err)).toEqual(
			["taskType", "taskStatus", "sortProperty", "sortDirection", "cursor", "pageSize"].sort()
		);
	});

	test("valid arguments are accepted", async () => {
		const { connector } = createConnector();
		const page = await connector.query(
			"t",
			TaskStatus.Pending,
			"dateModified",
			SortDirection.Descending,
			undefined,
			1
		);
		expect(page.entities).toEqual([]);
	});
});

describe("retryFailed argument validation", () => {
	test.each([
		["type", [""]],
		["type", [42]],
		["options", ["t", "all"]],
		["options.limit", ["t", { limit: 0 }]],
		["options.limit", [undefined, { limit: 2.5 }]],
		["options.limit", [undefined, { limit: "3" }]]
	] as const)(
		"a bad %s is rejected with a ValidationError naming it, nothing read or written",
		async (property, args) => {
			const { connector, storage } = createConnector();
			await seed(storage, taskEntity({ status: TaskStatus.Failed, dateNextProcess: undefined }));
			const before = snapshot(storage);
			const query = vi.spyOn(storage, "query");
			const err = await errorOf(() =>
				(connector.retryFailed as (...a: unknown[]) => unknown)(...args)
			);
			expect(err.name).toBe("ValidationError");
			expect(failedProperties(err)).toEqual([property]);
			expect(query).not.toHaveBeenCalled();
			expect(snapshot(storage)).toEqual(before);
		}
	);

	test("every bad argument is named in one error", async () => {
		const { connector } = createConnector();
		const err = await errorOf(() => connector.retryFailed("", { limit: -1 }));
		expect(failedProperties(err)).toEqual(["options.limit", "type"]);
	});

	test("valid arguments are accepted", async () => {
		const { connector } = createConnector();
		expect(await connector.retryFailed()).toBe(0);
		expect(await connector.retryFailed("t", { limit: 1 })).toBe(0);
		expect(await connector.retryFailed(undefined, {})).toBe(0);
	});
});
