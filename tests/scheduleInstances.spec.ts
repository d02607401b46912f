// Recurring tasks over entity storage (issue 22, item 1): a schedule is the instance's own, kept
// in its memory. The guarantee the README states: each instance creates exactly one task per slot
// of its schedules; two instances on one store that both declare a schedule both fire it, each
// with its own slots and tasks (its own threadId). Shown on the in-memory connector, which every
// entity-storage backend shares this path with (the contract runs the one-instance part on each).
import { describe, expect, test } from "vitest";
import { createConnector, HANDLERS, waitFor } from "./helpers/harness.js";

const EVERY = 150;

describe("recurring tasks over entity storage", () => {
	test("two instances on one store each fire their own schedule: one task per slot per instance", async () => {
		const a = createConnector({ executionMode: "inline", instanceId: "one" });
		const b = createConnector({ executionMode: "inline", instanceId: "two" }, a.storage);
		for (const { connector, start } of [a, b]) {
			await connector.registerHandler("tick", HANDLERS, "echo");
			await start();
			await connector.schedule("tick", {
				type: "tick",
				every: EVERY,
				catchUp: "all",
				options: { retainFor: -1 }
			});
		}
		const byInstance = async (): Promise<Map<string, number[]>> => {
			const slots = new Map<string, number[]>();
			for (const task of (await a.storage.query()).entities) {
				const list = slots.get(task.threadId ?? "") ?? [];
				list.push(Date.parse(task.dateCreated ?? ""));
				slots.set(task.threadId ?? "", list);
			}
			return slots;
		};
		await waitFor(
			async () => {
				const slots = await byInstance();
				return (slots.get("one")?.length ?? 0) >= 4 && (slots.get("two")?.length ?? 0) >= 4;
			},
			10000,
			"four slots' tasks of each instance"
		);
		// Each instance's schedule is in its own memory: removing one leaves the other's.
		expect(await a.connector.unschedule("tick")).toBe(true);
		expect(await a.connector.getSchedules()).toEqual([]);
		expect((await b.connector.getSchedules()).map(s => s.name)).toEqual(["tick"]);
		expect(await b.connector.unschedule("tick")).toBe(true);
		const slots = await byInstance();
		expect([...slots.keys()].sort()).toEqual(["one", "two"]);
		for (const list of slots.values()) {
			list.sort((x, y) => x - y);
			expect(list.map((slot, i) => slot - list[0] - i * EVERY)).toEqual(list.map(() => 0));
		}
	});
});
