// Worker resource limits (issue 6, item 3; SPEC section 6 "a handler that exhausts its memory"):
// with config.maxWorkerMemoryMb a handler that allocates without bound fails its own task with a
// clear out-of-memory error, its worker is replaced, and the host and the other tasks carry on.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createConnector, waitForStatus } from "../helpers/harness.js";

const HANDLERS = new URL("../fixtures/reliability-handlers.mjs", import.meta.url).href;
const LIMIT_MB = 32;

const processErrors: unknown[] = [];
const onError = (err: unknown): void => {
	processErrors.push(err);
};

beforeEach(() => {
	processErrors.length = 0;
	process.on("unhandledRejection", onError);
	process.on("uncaughtException", onError);
});

afterEach(() => {
	process.off("unhandledRejection", onError);
	process.off("uncaughtException", onError);
});

describe("worker heap limit", () => {
	test("an unbounded allocation fails only its task with OutOfMemoryError; the worker is replaced", async () => {
		const hostHeapBefore = process.memoryUsage().heapUsed;
		const { connector, start } = createConnector({
			executionMode: "worker",
			maxWorkers: 2,
			concurrency: 2,
			maxWorkerMemoryMb: LIMIT_MB
		});
		await connector.registerHandler("hog", HANDLERS, "allocate");
		await connector.registerHandler("who", HANDLERS, "whoAmI");
		await start();

		// The two workers before the hog: two overlapping tasks occupy one each.
		const before = await Promise.all(
			["before-0", "before-1"].map(key =>
				connector.create("who", { key, delayMs: 100 }, { retainFor: -1 })
			)
		);
		const threadsBefore = new Set<number>();
		for (const id of before) {
			const task = await waitForStatus(connector, id, ["success", "failed"]);
			threadsBefore.add((task.result as { threadId: number }).threadId);
		}
		expect(threadsBefore.size).toBe(2);

		// A neighbour running on the other worker while the hog runs out of memory.
		const neighbour = await connector.create(
			"who",
			{ key: "neighbour", delayMs: 300 },
			{ retainFor: -1 }
		);
		// The hog gets one retry, so its worker must be replaced twice.
		const hog = await connector.create(
			"hog",
			{ capMb: 1024 },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);

		const failed = await waitForStatus(connector, hog, ["failed", "success"], 20000);
		expect(failed.status).toBe("failed");
		expect(failed.error?.name).toBe("OutOfMemoryError");
		expect(failed.error?.message).toContain("out of memory");
		expect(failed.error?.message).toContain(`${LIMIT_MB} MB`);
		expect(failed.retriesRemaining).toBe(0);

		const neighbourTask = await waitForStatus(connector, neighbour, ["success", "failed"]);
		expect(neighbourTask.status).toBe("success");

		// Both workers still serve tasks (each OOM'd worker was replaced): run enough tasks at once to
		// occupy both, and see them succeed on two threads, at least one of them new.
		const after = await Promise.all(
			Array.from({ length: 6 }, (_, i) =>
				connector.create("who", { key: `after-${i}`, delayMs: 30 }, { retainFor: -1 })
			)
		);
		const threads = new Set<number>();
		for (const id of after) {
			const task = await waitForStatus(connector, id, ["success", "failed"]);
			expect(task.status).toBe("success");
			threads.add((task.result as { threadId: number }).threadId);
		}
		expect(threads.size).toBe(2);
		expect([...threads].filter(t => !threadsBefore.has(t)).length).toBeGreaterThan(0);

		// The host: alive (we are here), its heap did not take the hog's allocation, nothing escaped.
		expect(process.memoryUsage().heapUsed - hostHeapBefore).toBeLessThan(64 * 1024 * 1024);
		expect(processErrors).toEqual([]);
	});

	test("without a limit breach the same handler succeeds (the fixture can pass)", async () => {
		const { connector, start } = createConnector({
			executionMode: "worker",
			maxWorkers: 1,
			maxWorkerMemoryMb: 64
		});
		await connector.registerHandler("hog", HANDLERS, "allocate");
		await start();
		const id = await connector.create("hog", { capMb: 8 }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, ["success", "failed"], 10000);
		expect(task.status).toBe("success");
		expect(task.result).toMatchObject({ allocatedMb: 8 });
		expect(processErrors).toEqual([]);
	});
});
