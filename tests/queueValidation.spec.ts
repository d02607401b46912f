// Validation of the queue options (issue 11) through the public API: every bad value is rejected
// with a ValidationError naming its field, and nothing is written.
import { describe, expect, test } from "vitest";
import {
	EntityStorageBackgroundTaskConnector,
	type IEntityStorageBackgroundTaskConnectorConfig
} from "../src/index.js";
import { createConnector, HANDLERS, registerStorage } from "./helpers/harness.js";
import { errorOf, failedProperties, snapshot } from "./helpers/tasks.js";

describe("queue options: validation", () => {
	test.each([
		["retryBackoff", "linear"],
		["retryBackoff", 1],
		["retryMaxInterval", 0],
		["retryMaxInterval", 1.5],
		["retryMaxInterval", 2_147_483_648],
		["startAfter", -1],
		["startAfter", 1.5],
		["startAfter", "tomorrow"],
		["startAfter", "2026-13-45T00:00:00Z"],
		["startAfter", true],
		["priority", 1.5],
		["priority", "high"],
		["priority", 2_147_483_648],
		["priority", -2_147_483_649],
		["dedupKey", ""],
		["dedupKey", 5]
	] as const)("create options.%s = %j is rejected, nothing written", async (field, value) => {
		const { connector, storage } = createConnector({ executionMode: "inline" });
		const err = await errorOf(async () => connector.create("t", { a: 1 }, { [field]: value }));
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual([`options.${field}`]);
		expect(snapshot(storage)).toEqual([]);
	});

	test("the valid extremes are accepted", async () => {
		const { connector, storage } = createConnector({ executionMode: "inline" });
		await connector.create("t", 1, {
			retryBackoff: "exponential",
			retryMaxInterval: 2_147_483_647,
			startAfter: 0,
			priority: -2_147_483_648,
			dedupKey: "k"
		});
		await connector.create("t", 2, { startAfter: "2026-01-01T00:00:00Z", priority: 2_147_483_647 });
		await connector.create("t", 3, { startAfter: "2030-01-01", retryBackoff: "fixed" });
		expect(snapshot(storage)).toHaveLength(3);
	});

	test("createMany: dedupKey refused, payloads must be an array of JSON values (the first bad one named)", async () => {
		const { connector, storage } = createConnector({ executionMode: "inline" });
		const dedup = await errorOf(async () =>
			connector.createMany("t", [1], { dedupKey: "k" } as never)
		);
		expect(failedProperties(dedup)).toEqual(["options.dedupKey"]);
		const notArray = await errorOf(async () => connector.createMany("t", {} as never));
		expect(failedProperties(notArray)).toEqual(["payloads"]);
		const badItem = await errorOf(async () =>
			connector.createMany("t", [{ ok: 1 }, { f: () => 1 }, { g: Symbol("x") }])
		);
		expect(failedProperties(badItem)).toEqual(["payloads[1]"]);
		const badOption = await errorOf(async () => connector.createMany("t", [1], { priority: 0.5 }));
		expect(failedProperties(badOption)).toEqual(["options.priority"]);
		const badType = await errorOf(async () => connector.createMany("", [1]));
		expect(failedProperties(badType)).toEqual(["type"]);
		expect(snapshot(storage)).toEqual([]);
	});

	test.each([
		[{ max: 0, per: 1000 }, ["options.rateLimit.max"]],
		[{ max: 1.5, per: 1000 }, ["options.rateLimit.max"]],
		[{ max: 1, per: 0 }, ["options.rateLimit.per"]],
		[{ max: 1, per: 2_147_483_648 }, ["options.rateLimit.per"]],
		[{ per: 1000 }, ["options.rateLimit.max"]],
		[{ max: 1 }, ["options.rateLimit.per"]],
		["fast", ["options.rateLimit"]]
	] as const)("registerHandler rateLimit %j is rejected naming %j", async (rateLimit, fields) => {
		const { connector } = createConnector({ executionMode: "inline" });
		const err = await errorOf(async () =>
			connector.registerHandler("t", HANDLERS, "echo", undefined, {
				rateLimit: rateLimit as never
			})
		);
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual(fields);
	});

	test.each([
		["retryBackoff", "linear"],
		["retryMaxInterval", 0],
		["recordAttempts", "yes"],
		["trackTaskContext", 1]
	] as const)("config.%s = %j is rejected with a ValidationError naming it", (field, value) => {
		const { storageType, storage } = registerStorage();
		expect(
			() =>
				new EntityStorageBackgroundTaskConnector({
					backgroundTaskEntityStorageType: storageType,
					config: { [field]: value } as IEntityStorageBackgroundTaskConnectorConfig
				})
		).toThrow(
			expect.objectContaining({
				name: "ValidationError",
				properties: expect.objectContaining({
					validationFailures: [expect.objectContaining({ property: `config.${field}` })]
				})
			})
		);
		expect(snapshot(storage)).toEqual([]);
	});

	test("getStatistics names a bad type", async () => {
		const { connector } = createConnector({ executionMode: "inline" });
		const err = await errorOf(async () => connector.getStatistics(""));
		expect(err.name).toBe("GuardError");
		expect(err.properties?.property).toBe("taskType");
	});

	test("config defaults apply to tasks created without the option, and recordAttempts records attempts", async () => {
		const { connector, storage } = createConnector({
			executionMode: "inline",
			retryBackoff: "exponential",
			retryMaxInterval: 1000
		});
		await connector.create("t", 1, { retryCount: 2 });
		const [task] = snapshot(storage);
		expect(task.retryBackoff).toBe("exponential");
		expect(task.attempts).toBe(0);
		// The cap is a config default applied when the retry is scheduled, not stored per task.
		expect(task.retryMaxInterval).toBeUndefined();

		const recorded = createConnector({ executionMode: "inline", recordAttempts: true });
		await recorded.connector.create("t", 1);
		expect(snapshot(recorded.storage)[0].attempts).toBe(0);
	});
});
