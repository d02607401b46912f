// Every task operation through the public API, against the real in-memory storage connector.
// Tasks in particular states are written straight into storage, which is the source of truth.
import { TaskStatus } from "@twin.org/background-task-models";
import { Converter, RandomHelper } from "@twin.org/core";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { BackgroundTask } from "../src/index.js";
import { createConnector, HANDLERS, waitFor, waitForStatus } from "./helpers/harness.js";
import {
	errorOf,
	failedProperties,
	seed,
	snapshot,
	storageIdOf,
	stored,
	taskEntity,
	URN_PREFIX
} from "./helpers/tasks.js";

const NOW = Date.parse("2026-05-04T12:00:00.000Z");
const HOUR = 3_600_000;

/**
 * Freeze Date (only Date: timers stay real) at a time.
 * @param ms The time.
 */
function freezeDate(ms: number): void {
	vi.useFakeTimers({ toFake: ["Date"] });
	vi.setSystemTime(ms);
}

afterEach(() => {
	vi.useRealTimers();
	vi.restoreAllMocks();
});

describe("create", () => {
	test("stores a pending task with dates equal to now and the given options", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const id = await connector.create(
			"build",
			{ n: 1 },
			{ retryCount: 3, retryInterval: 250, retainFor: 60_000 }
		);

		expect(id).toMatch(/^background-task:entity-storage:[\da-f]{32}$/);
		expect(await stored(storage, id)).toEqual({
			id: storageIdOf(id),
			type: "build",
			threadId: "main",
			status: TaskStatus.Pending,
			dateCreated: new Date(NOW).toISOString(),
			dateModified: new Date(NOW).toISOString(),
			dateNextProcess: new Date(NOW).toISOString(),
			retainFor: 60_000,
			retriesRemaining: 3,
			retryInterval: 250,
			payload: { n: 1 }
		});
	});

	test("defaults: retainFor 0, no retry fields, no payload when none is given", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const id = await connector.create("build");
		expect(await stored(storage, id)).toEqual({
			id: storageIdOf(id),
			type: "build",
			threadId: "main",
			status: TaskStatus.Pending,
			dateCreated: new Date(NOW).toISOString(),
			dateModified: new Date(NOW).toISOString(),
			dateNextProcess: new Date(NOW).toISOString(),
			retainFor: 0
		});
	});

	test("retriesRemaining equals retryCount", async () => {
		const { connector, storage } = createConnector();
		for (const retryCount of [1, 2, 10]) {
			const id = await connector.create("t", undefined, { retryCount });
			expect((await stored(storage, id))?.retriesRemaining).toBe(retryCount);
		}
	});

	test("the payload is stored as a clone: changing the caller's object afterwards changes nothing", async () => {
		const { connector, storage } = createConnector();
		const payload = { a: 1, nested: { list: [1, 2, { deep: "x" }] } };
		const id = await connector.create("t", payload);

		payload.a = 2;
		payload.nested.list.push(3);
		(payload.nested.list[2] as { deep: string }).deep = "changed";

		const expected = { a: 1, nested: { list: [1, 2, { deep: "x" }] } };
		expect((await stored(storage, id))?.payload).toEqual(expected);
		expect((await connector.get(id))?.payload).toEqual(expected);
	});

	test("the stored payload is not the caller's object", async () => {
		const { connector, storage } = createConnector();
		const payload = { a: 1 };
		const id = await connector.create("t", payload);
		const live = await storage.get(storageIdOf(id));
		expect(live?.payload).not.toBe(payload);
	});

	test("ids are 32 lower-case hex characters from RandomHelper.generate(16)", async () => {
		const bytes = [
			Uint8Array.from({ length: 16 }, (_, i) => i),
			Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i)
		];
		const generate = vi.spyOn(RandomHelper, "generate");
		generate.mockReturnValueOnce(bytes[0]).mockReturnValueOnce(bytes[1]);
		const { connector, storage } = createConnector();

		const first = await connector.create("t");
		const second = await connector.create("t");

		expect(generate).toHaveBeenCalledWith(16);
		expect(first).toBe(`${URN_PREFIX}000102030405060708090a0b0c0d0e0f`);
		expect(second).toBe(`${URN_PREFIX}f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff`);
		expect(first).toBe(URN_PREFIX + Converter.bytesToHex(bytes[0]));
		expect(snapshot(storage).map(t => t.id)).toEqual([
			"000102030405060708090a0b0c0d0e0f",
			"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
		]);
	});

	test("real ids are distinct and well-formed", async () => {
		const { connector } = createConnector();
		const ids = new Set<string>();
		for (let i = 0; i < 20; i++) {
			ids.add(await connector.create("t"));
		}
		expect(ids.size).toBe(20);
		for (const id of ids) {
			expect(id).toMatch(/^background-task:entity-storage:[\da-f]{32}$/);
		}
	});

	test("real ids start with their creation time in ms, so later ids sort after earlier ones", async () => {
		const { connector } = createConnector();
		freezeDate(NOW);
		const first = storageIdOf(await connector.create("t"));
		const sameMs = storageIdOf(await connector.create("t"));
		vi.setSystemTime(NOW + 1);
		const next = storageIdOf(await connector.create("t"));
		vi.setSystemTime(NOW + HOUR);
		const later = storageIdOf(await connector.create("t"));

		const msHex = (ms: number): string => ms.toString(16).padStart(12, "0");
		expect(first.slice(0, 12)).toBe(msHex(NOW));
		expect(sameMs.slice(0, 12)).toBe(msHex(NOW));
		expect(sameMs.slice(12)).not.toBe(first.slice(12));
		expect(next.slice(0, 12)).toBe(msHex(NOW + 1));
		expect(later.slice(0, 12)).toBe(msHex(NOW + HOUR));
		expect(first < next && next < later).toBe(true);
	});

	test("a rejected create writes nothing", async () => {
		const { connector, storage } = createConnector();
		await errorOf(() => connector.create("t", { f: () => 1 }));
		expect(snapshot(storage)).toEqual([]);
	});
});

describe("create after start", () => {
	test("records the task, which stays pending while its type has no handler", async () => {
		const { connector, storage, start } = createConnector({ executionMode: "inline" });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const unhandled = await connector.create("nobody-handles-this", { x: 1 });
		const handled = await connector.create("echo", { y: 2 }, { retainFor: -1 });

		// The handled task finishing shows the scheduler has been busy in the meantime.
		await waitForStatus(connector, handled, ["success"]);
		const task = await connector.get(unhandled);
		expect(task?.status).toBe(TaskStatus.Pending);
		expect(task?.payload).toEqual({ x: 1 });
		expect((await stored(storage, unhandled))?.dateNextProcess).toBeDefined();
	});

	test("a created task of a handled type is picked up and runs to success", async () => {
		const { connector, start } = createConnector({ executionMode: "inline", pollInterval: 60_000 });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const id = await connector.create("echo", { z: 3 }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, ["success"], 5000);
		expect(task.result).toEqual({ payload: { z: 3 } });
	});
});

describe("get", () => {
	test("maps every stored field to IBackgroundTask with the plain storage id as id", async () => {
		const { connector, storage } = createConnector();
		const entity = taskEntity({
			type: "mapped",
			status: TaskStatus.Success,
			dateCreated: "2026-01-01T00:00:00.000Z",
			dateModified: "2026-01-01T00:00:05.000Z",
			dateCompleted: "2026-01-01T00:00:05.000Z",
			dateNextProcess: undefined,
			retainFor: 60_000,
			retainUntil: Date.parse("2026-01-01T00:01:05.000Z"),
			retryInterval: 100,
			retriesRemaining: 2,
			payload: { in: [1, 2] },
			result: { out: "ok" },
			error: { name: "Error", message: "earlier attempt" }
		});
		const [id] = await seed(storage, entity);

		expect(id).toBe(`${URN_PREFIX}${entity.id}`);
		expect(await connector.get(id)).toEqual({
			id: entity.id,
			type: "mapped",
			threadId: "main",
			status: TaskStatus.Success,
			dateCreated: "2026-01-01T00:00:00.000Z",
			dateModified: "2026-01-01T00:00:05.000Z",
			dateCompleted: "2026-01-01T00:00:05.000Z",
			dateRetainUntil: "2026-01-01T00:01:05.000Z",
			retryInterval: 100,
			retriesRemaining: 2,
			payload: { in: [1, 2] },
			result: { out: "ok" },
			error: { name: "Error", message: "earlier attempt" }
		});
	});

	test("maps a cancelled task's dateCancelled", async () => {
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({
				status: TaskStatus.Cancelled,
				dateCancelled: "2026-01-02T00:00:00.000Z",
				dateNextProcess: undefined
			})
		);
		expect((await connector.get(id))?.dateCancelled).toBe("2026-01-02T00:00:00.000Z");
	});

	test.each([
		["-1 (forever)", -1],
		["absent", undefined],
		["0", 0]
	])(
		"dateRetainUntil is undefined (its key present) when retainUntil is %s",
		async (_, retainUntil) => {
			const { connector, storage } = createConnector();
			const [id] = await seed(
				storage,
				taskEntity({
					status: TaskStatus.Success,
					retainFor: -1,
					retainUntil,
					dateNextProcess: undefined
				})
			);
			const task = await connector.get(id);
			expect(task).toBeDefined();
			expect(task && "dateRetainUntil" in task).toBe(true);
			expect(task?.dateRetainUntil).toBeUndefined();
		}
	);

	test("has every key of the original's mapping, absent ones undefined, and no storage-only field", async () => {
		const { connector } = createConnector();
		const id = await connector.create("t");
		const task = await connector.get(id);
		expect(Object.keys(task ?? {})).toEqual([
			"id",
			"type",
			"threadId",
			"dateCreated",
			"dateModified",
			"dateCompleted",
			"dateCancelled",
			"dateRetainUntil",
			"retryInterval",
			"retriesRemaining",
			"status",
			"payload",
			"result",
			"error"
		]);
		const present = Object.entries(task ?? {})
			.filter(([, value]) => value !== undefined)
			.map(([key]) => key);
		expect(present).toEqual(["id", "type", "threadId", "dateCreated", "dateModified", "status"]);
		expect(task?.id).toBe(storageIdOf(id));
	});

	test("an unknown id returns undefined", async () => {
		const { connector } = createConnector();
		await connector.create("t");
		expect(await connector.get(`${URN_PREFIX}${"0".repeat(32)}`)).toBeUndefined();
	});

	test("changing the returned task does not change the stored one", async () => {
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({
				status: TaskStatus.Success,
				payload: { a: [1] },
				result: { r: { x: 1 } },
				retainFor: -1
			})
		);
		const before = snapshot(storage);
		const task = await connector.get<{ a: number[] }, { r: { x: number } }>(id);
		task?.payload?.a.push(2);
		if (task?.result) {
			task.result.r.x = 99;
		}
		expect(snapshot(storage)).toEqual(before);
	});
});

describe("cancel", () => {
	test("a pending task becomes cancelled with dateCancelled and no dateNextProcess", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const id = await connector.create("t", { a: 1 }, { retainFor: -1 });
		vi.setSystemTime(NOW + 1000);
		await connector.cancel(id);

		const entity = await stored(storage, id);
		expect(entity?.status).toBe(TaskStatus.Cancelled);
		expect(entity?.dateCancelled).toBe(new Date(NOW + 1000).toISOString());
		expect(entity?.dateModified).toBe(new Date(NOW + 1000).toISOString());
		expect(entity?.dateCreated).toBe(new Date(NOW).toISOString());
		expect(entity?.dateNextProcess).toBeUndefined();
		expect(entity?.retainUntil).toBe(-1);

		const task = await connector.get(id);
		expect(task?.status).toBe(TaskStatus.Cancelled);
		expect(task?.dateCancelled).toBe(new Date(NOW + 1000).toISOString());
		expect(task?.payload).toEqual({ a: 1 });
	});

	test("with retainFor 0 (the default) the task is removed at once", async () => {
		const { connector, storage } = createConnector();
		const id = await connector.create("t");
		const other = await connector.create("t");
		await connector.cancel(id);
		expect(await connector.get(id)).toBeUndefined();
		expect(snapshot(storage).map(t => t.id)).toEqual([storageIdOf(other)]);
	});

	test("with retainFor n the task is kept until now + n", async () => {
		freezeDate(NOW);
		const { connector } = createConnector();
		const id = await connector.create("t", undefined, { retainFor: 5000 });
		vi.setSystemTime(NOW + 10);
		await connector.cancel(id);
		expect((await connector.get(id))?.dateRetainUntil).toBe(
			new Date(NOW + 10 + 5000).toISOString()
		);
	});

	test("a pending task waiting for a retry can be cancelled", async () => {
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({
				retainFor: -1,
				retriesRemaining: 1,
				dateNextProcess: new Date(Date.now() + HOUR).toISOString()
			})
		);
		await connector.cancel(id);
		expect((await connector.get(id))?.status).toBe(TaskStatus.Cancelled);
	});

	test.each([TaskStatus.Processing, TaskStatus.Success, TaskStatus.Failed, TaskStatus.Cancelled])(
		"a %s task is left untouched",
		async status => {
			const { connector, storage } = createConnector();
			const [id] = await seed(
				storage,
				taskEntity({
					status,
					retainFor: 0,
					dateNextProcess:
						status === TaskStatus.Processing ? "2026-01-01T00:00:00.000Z" : undefined,
					dateCompleted:
						status === TaskStatus.Success || status === TaskStatus.Failed
							? "2026-01-01T00:00:01.000Z"
							: undefined
				})
			);
			const before = snapshot(storage);
			await connector.cancel(id);
			expect(snapshot(storage)).toEqual(before);
		}
	);
});

describe("retry", () => {
	test("a pending task waiting for a retry becomes due now", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({
				retriesRemaining: 2,
				retryInterval: HOUR,
				dateNextProcess: new Date(NOW + HOUR).toISOString(),
				error: { name: "Error", message: "first attempt" }
			})
		);
		await connector.retry(id);
		const entity = await stored(storage, id);
		expect(entity?.status).toBe(TaskStatus.Pending);
		expect(entity?.dateNextProcess).toBe(new Date(NOW).toISOString());
		expect(entity?.dateModified).toBe(new Date(NOW).toISOString());
		expect(entity?.retriesRemaining).toBe(2);
	});

	test("a pending task that is already due is not made due later (it keeps its place in line)", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const due = new Date(NOW - HOUR).toISOString();
		const [id] = await seed(
			storage,
			taskEntity({ dateCreated: due, dateModified: due, dateNextProcess: due })
		);
		await connector.retry(id);
		const entity = await stored(storage, id);
		expect(entity?.status).toBe(TaskStatus.Pending);
		expect(Date.parse(entity?.dateNextProcess ?? "")).toBeLessThanOrEqual(Date.parse(due));
	});

	test("a failed task goes back to pending, due now, without its completion and retain dates", async () => {
		freezeDate(NOW);
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({
				status: TaskStatus.Failed,
				dateNextProcess: undefined,
				dateCompleted: "2026-01-01T00:00:00.000Z",
				retainFor: -1,
				retainUntil: -1,
				retriesRemaining: 0,
				error: { name: "Error", message: "final" }
			})
		);
		await connector.retry(id);
		const entity = await stored(storage, id);
		expect(entity?.status).toBe(TaskStatus.Pending);
		expect(entity?.dateNextProcess).toBe(new Date(NOW).toISOString());
		expect(entity?.dateModified).toBe(new Date(NOW).toISOString());
		expect(entity?.dateCompleted).toBeUndefined();
		expect(entity?.retainUntil).toBeUndefined();
		expect(entity?.retainFor).toBe(-1);
		const task = await connector.get(id);
		expect(task?.status).toBe(TaskStatus.Pending);
		expect(task?.dateCompleted).toBeUndefined();
		expect(task?.dateRetainUntil).toBeUndefined();
	});

	test.each([TaskStatus.Processing, TaskStatus.Success, TaskStatus.Cancelled])(
		"a %s task is left untouched",
		async status => {
			const { connector, storage } = createConnector();
			const [id] = await seed(
				storage,
				taskEntity({
					status,
					retainFor: -1,
					retainUntil: status === TaskStatus.Processing ? undefined : -1,
					dateNextProcess: status === TaskStatus.Processing ? "2026-01-01T00:00:00.000Z" : undefined
				})
			);
			const before = snapshot(storage);
			await connector.retry(id);
			expect(snapshot(storage)).toEqual(before);
		}
	);

	test("when started, a retried task runs promptly instead of waiting for its old due time", async () => {
		const { connector, storage, start } = createConnector({
			executionMode: "inline",
			pollInterval: 60_000
		});
		await connector.registerHandler("echo", HANDLERS, "echo");
		const [id] = await seed(
			storage,
			taskEntity({
				type: "echo",
				retainFor: -1,
				retriesRemaining: 1,
				payload: { again: true },
				dateCreated: new Date().toISOString(),
				dateModified: new Date().toISOString(),
				dateNextProcess: new Date(Date.now() + HOUR).toISOString()
			})
		);
		await start();
		// Started and scanned: the task is known but not due for an hour.
		expect((await connector.get(id))?.status).toBe(TaskStatus.Pending);
		await connector.retry(id);
		const task = await waitForStatus(connector, id, ["success"], 5000);
		expect(task.result).toEqual({ payload: { again: true } });
	});
});

describe("remove", () => {
	test.each(Object.values(TaskStatus))("removes a %s task, leaving others alone", async status => {
		const { connector, storage } = createConnector();
		const keep = taskEntity({ retainFor: -1 });
		const [id] = await seed(
			storage,
			taskEntity({
				status,
				retainFor: -1,
				retainUntil: -1,
				dateNextProcess:
					status === TaskStatus.Pending || status === TaskStatus.Processing
						? "2026-01-01T00:00:00.000Z"
						: undefined
			}),
			keep
		);
		await connector.remove(id);
		expect(await connector.get(id)).toBeUndefined();
		expect(snapshot(storage)).toEqual([keep]);
	});

	test("removes a task kept with a future retain date", async () => {
		const { connector, storage } = createConnector();
		const [id] = await seed(
			storage,
			taskEntity({ status: TaskStatus.Success, retainFor: HOUR, retainUntil: Date.now() + HOUR })
		);
		await connector.remove(id);
		expect(snapshot(storage)).toEqual([]);
	});

	test("removing twice is harmless", async () => {
		const { connector, storage } = createConnector();
		const id = await connector.create("t");
		await connector.remove(id);
		await connector.remove(id);
		expect(snapshot(storage)).toEqual([]);
	});
});

describe("registerHandler and unregisterHandler", () => {
	test("valid registrations resolve, with and without callback and options", async () => {
		const { connector } = createConnector();
		await expect(connector.registerHandler("a", HANDLERS, "echo")).resolves.toBeUndefined();
		await expect(
			connector.registerHandler("b", "@twin.org/core", "Export.member", async () => {}, {
				concurrency: 2,
				timeout: 1
			})
		).resolves.toBeUndefined();
		await expect(connector.registerHandler("a", HANDLERS, "fail")).resolves.toBeUndefined();
	});

	test.each([
		["taskType", ["", HANDLERS, "echo"]],
		["taskType", [undefined, HANDLERS, "echo"]],
		["module", ["t", "", "echo"]],
		["module", ["t", 5, "echo"]],
		["method", ["t", HANDLERS, ""]],
		["stateChangeCallback", ["t", HANDLERS, "echo", "not a function"]],
		["options", ["t", HANDLERS, "echo", undefined, "fast"]],
		["options.concurrency", ["t", HANDLERS, "echo", undefined, { concurrency: 0 }]],
		["options.concurrency", ["t", HANDLERS, "echo", undefined, { concurrency: 1.5 }]],
		["options.timeout", ["t", HANDLERS, "echo", undefined, { timeout: 0 }]],
		["options.timeout", ["t", HANDLERS, "echo", undefined, { timeout: "1000" }]]
	] as const)("a bad %s is rejected with a ValidationError naming it", async (property, args) => {
		const { connector } = createConnector();
		const err = await errorOf(() =>
			(connector.registerHandler as (...a: unknown[]) => unknown)(...args)
		);
		expect(err.name).toBe("ValidationError");
		expect(failedProperties(err)).toEqual([property]);
	});

	test("every bad registerHandler argument is named in one error", async () => {
		const { connector } = createConnector();
		const err = await errorOf(() =>
			(connector.registerHandler as (...a: unknown[]) => unknown)("", "", "", 1, {
				concurrency: 0,
				timeout: 0
			})
		);
		expect(failedProperties(err)).toEqual(
			[
				"taskType",
				"module",
				"method",
				"stateChangeCallback",
				"options.concurrency",
				"options.timeout"
			].sort()
		);
	});

	test("a rejected registration does not register the type", async () => {
		const { connector, start } = createConnector({ executionMode: "inline" });
		await errorOf(() =>
			connector.registerHandler("echo", HANDLERS, "echo", undefined, { concurrency: 0 })
		);
		await connector.registerHandler("other", HANDLERS, "echo");
		await start();
		const rejected = await connector.create("echo", undefined, { retainFor: -1 });
		const accepted = await connector.create("other", undefined, { retainFor: -1 });
		await waitForStatus(connector, accepted, ["success"]);
		expect((await connector.get(rejected))?.status).toBe(TaskStatus.Pending);
	});

	test.each([
		["an empty string", ""],
		["undefined", undefined],
		["a number", 3]
	])("unregisterHandler rejects %s with a GuardError", async (_, taskType) => {
		const { connector } = createConnector();
		const err = await errorOf(() => connector.unregisterHandler(taskType as string));
		expect(err.name).toBe("GuardError");
		expect(err.properties?.property).toBe("taskType");
	});

	test("unregistering an unknown type is harmless", async () => {
		const { connector } = createConnector();
		await expect(connector.unregisterHandler("never-registered")).resolves.toBeUndefined();
	});

	test("after unregisterHandler, new tasks of the type stay pending", async () => {
		const { connector, start } = createConnector({ executionMode: "inline" });
		await connector.registerHandler("gone", HANDLERS, "echo");
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		await connector.unregisterHandler("gone");
		const pending = await connector.create("gone", undefined, { retainFor: -1 });
		const done = await connector.create("echo", undefined, { retainFor: -1 });
		await waitForStatus(connector, done, ["success"]);
		expect((await connector.get(pending))?.status).toBe(TaskStatus.Pending);
	});

	test("registering while started begins processing waiting tasks of that type", async () => {
		const { connector, start } = createConnector({ executionMode: "inline", pollInterval: 60_000 });
		await start();
		const id = await connector.create("late", { l: 1 }, { retainFor: -1 });
		expect((await connector.get(id))?.status).toBe(TaskStatus.Pending);
		await connector.registerHandler("late", HANDLERS, "echo");
		const task = await waitForStatus(connector, id, ["success"], 5000);
		expect(task.result).toEqual({ payload: { l: 1 } });
	});

	test("a stateChangeCallback hears the task's states", async () => {
		const { connector, start } = createConnector({ executionMode: "inline" });
		const seen: string[] = [];
		await connector.registerHandler("echo", HANDLERS, "echo", async task => {
			seen.push(task.status);
		});
		await start();
		await connector.create("echo", undefined, { retainFor: -1 });
		await waitFor(() => seen.includes(TaskStatus.Success), 5000, "the success callback");
		expect(seen).toEqual([TaskStatus.Processing, TaskStatus.Success]);
	});
});

describe("storage is the source of truth", () => {
	test("a task written by another instance into shared storage is visible through get and query", async () => {
		const { connector, storage } = createConnector();
		const entity: BackgroundTask = taskEntity({ type: "shared", payload: { from: "elsewhere" } });
		const [id] = await seed(storage, entity);
		expect((await connector.get(id))?.payload).toEqual({ from: "elsewhere" });
		expect((await connector.query("shared")).entities.map(t => t.id)).toEqual([entity.id]);
	});
});
