// toCallbackTask, the object the state-change callback receives, against the rule it implements
// written plainly (the created keys in order, less what completion deletes; retainUntil once an
// attempt was recorded with a retain rule other than 0; then every other defined key in the
// task's order): same keys, same order, same values, and a copy.
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/domain/backgroundTask.js";
import { toCallbackTask } from "../src/domain/taskModel.js";

const CREATED_KEYS = [
	"id",
	"type",
	"threadId",
	"dateCreated",
	"dateModified",
	"dateNextProcess",
	"retryInterval",
	"retainFor",
	"status",
	"retriesRemaining",
	"payload"
] as const;

/**
 * The rule, written plainly.
 * @param task The task.
 * @returns The callback's object.
 */
function reference(task: BackgroundTask): { [key: string]: unknown } {
	const out: { [key: string]: unknown } = {};
	const success = task.status === "success";
	for (const key of CREATED_KEYS) {
		const deleted =
			(success && (key === "retriesRemaining" || key === "retryInterval")) ||
			(key === "retainFor" && task.retainFor === undefined && task.retainUntil !== undefined);
		if (!deleted) {
			out[key] = structuredClone(task[key]);
		}
	}
	const final = ["success", "failed", "cancelled"].includes(task.status);
	if ((task.error !== undefined || final) && task.retainFor !== 0) {
		out.retainUntil = task.retainUntil;
	}
	for (const [key, value] of Object.entries(task)) {
		if (value !== undefined && !(key in out)) {
			out[key] = structuredClone(value);
		}
	}
	return out;
}

/**
 * Every combination of the fields the rule looks at, in two key orders.
 * @returns The tasks.
 */
function tasks(): BackgroundTask[] {
	const all: BackgroundTask[] = [];
	for (const status of ["pending", "processing", "success", "failed", "cancelled"]) {
		for (const retainFor of [undefined, 0, -1, 60000]) {
			for (const retainUntil of [undefined, 0, -1, 1_800_000_000_000]) {
				for (const error of [undefined, { name: "E", message: "m" }]) {
					for (const retries of [undefined, 2]) {
						const task = {
							id: "t1",
							type: "x",
							threadId: "main",
							retryInterval: retries === undefined ? undefined : 1000,
							retriesRemaining: retries,
							dateCreated: "2026-11-29T00:00:00.000Z",
							dateModified: "2026-11-29T00:00:01.000Z",
							dateNextProcess: status === "pending" ? "2026-11-29T00:00:02.000Z" : undefined,
							dateCompleted: status === "success" ? "2026-11-29T00:00:03.000Z" : undefined,
							retainFor,
							retainUntil,
							status,
							payload: { nested: { a: [1, 2] } },
							result: status === "success" ? { ok: true } : undefined,
							error,
							priority: 2,
							attempts: 1
						} as unknown as BackgroundTask;
						all.push(task);
						// The same fields in another order (as another store may return them).
						all.push(Object.fromEntries(Object.entries(task).reverse()) as BackgroundTask);
					}
				}
			}
		}
	}
	return all;
}

describe("toCallbackTask", () => {
	test("gives the keys, order and values of the rule for every combination, as a copy", () => {
		for (const task of tasks()) {
			const out = toCallbackTask(task) as unknown as { [key: string]: unknown };
			const expected = reference(task);
			expect(Object.keys(out)).toEqual(Object.keys(expected));
			expect(out).toStrictEqual(expected);
			expect(out.payload).not.toBe(task.payload);
		}
	});
});
