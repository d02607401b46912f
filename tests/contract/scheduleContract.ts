// Recurring tasks (issue 22, item 1) through the public API, on any backend: queueContract() calls
// scheduleContract(), so every backend's contract spec runs it. Each instance here is alone on its
// store, where every backend promises one task per slot; the native backend's guarantee across
// nodes is proven by tests/multinode/schedule.spec.ts, entity storage's two-instance behaviour by
// tests/scheduleInstances.spec.ts.
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { EntityStorageBackgroundTaskConnector, IScheduleOptions } from "../../src/index.js";
import { waitFor } from "../helpers/harness.js";
import { CONTRACT_HANDLERS, type FreshConnector } from "./storageContract.js";

/**
 * The slot of each task of a type (a slot's task is created at its slot), in order.
 * @param connector The connector.
 * @param type The type.
 * @returns The slots, epoch ms, and how many tasks succeeded.
 */
export async function slotsOf(
	connector: EntityStorageBackgroundTaskConnector,
	type: string
): Promise<{ slots: number[]; succeeded: number }> {
	const page = await connector.query(type, undefined, undefined, undefined, undefined, 1000);
	return {
		slots: page.entities.map(t => Date.parse(t.dateCreated)).sort((a, b) => a - b),
		succeeded: page.entities.filter(t => t.status === TaskStatus.Success).length
	};
}

/**
 * Define the schedule tests for a backend, inside queueContract().
 * @param name The backend name, for the test titles.
 * @param fresh A connector over a fresh storage of the backend, with extra config.
 */
export function scheduleContract(name: string, fresh: FreshConnector): void {
	describe(`recurring tasks: ${name}`, () => {
		test("every: one task per slot from the anchor, consecutive, none twice; unschedule stops it", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("sched-tick", CONTRACT_HANDLERS, "echo");
			await start();
			const every = 150;
			await connector.schedule("tick", {
				type: "sched-tick",
				payload: { n: 1 },
				every,
				catchUp: "all",
				options: { retainFor: -1 }
			});
			const [listed] = await connector.getSchedules();
			expect(listed).toMatchObject({
				name: "tick",
				type: "sched-tick",
				payload: { n: 1 },
				every,
				catchUp: "all",
				options: { retainFor: -1 }
			});
			const anchor = Date.parse(listed.nextSlot ?? "");
			await waitFor(
				async () => (await slotsOf(connector, "sched-tick")).succeeded >= 5,
				10000,
				"five slots' tasks to succeed"
			);
			expect(await connector.unschedule("tick")).toBe(true);
			expect(await connector.unschedule("tick")).toBe(false);
			expect(await connector.getSchedules()).toEqual([]);
			const { slots } = await slotsOf(connector, "sched-tick");
			expect(slots[0]).toBe(anchor);
			expect(slots.map((s, i) => s - anchor - i * every)).toEqual(slots.map(() => 0));
			const page = await connector.query("sched-tick");
			expect(page.entities[0].payload).toEqual({ n: 1 });
		});

		test("catchUp after a stop of several periods: none fires only the current slot, all every missed one", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("sched-none-gap", CONTRACT_HANDLERS, "echo");
			await connector.registerHandler("sched-all-gap", CONTRACT_HANDLERS, "echo");
			await start();
			const every = 100;
			for (const catchUp of ["none", "all"] as const) {
				await connector.schedule(`gap-${catchUp}`, {
					type: `sched-${catchUp}-gap`,
					every,
					catchUp,
					options: { retainFor: -1 }
				});
			}
			const both = async (after: number): Promise<boolean> =>
				(await slotsOf(connector, "sched-none-gap")).slots.some(s => s > after) &&
				(await slotsOf(connector, "sched-all-gap")).slots.some(s => s > after);
			await waitFor(async () => both(0), 10000, "a first slot of each");
			await connector.stop("test");
			const stoppedAt = Date.now();
			// The stop itself is the subject: six periods pass with no keeper running.
			await waitFor(() => Date.now() > stoppedAt + 6 * every, 5000, "six periods");
			await connector.start("test");
			await waitFor(async () => both(stoppedAt + 6 * every), 10000, "a slot after the restart");
			await connector.unschedule("gap-none");
			await connector.unschedule("gap-all");
			const gaps = (slots: number[]): number[] => slots.slice(1).map((s, i) => s - slots[i]);
			const none = gaps((await slotsOf(connector, "sched-none-gap")).slots);
			const all = gaps((await slotsOf(connector, "sched-all-gap")).slots);
			expect(all.every(g => g === every)).toBe(true);
			expect(none.every(g => g > 0 && g % every === 0)).toBe(true);
			expect(Math.max(...none)).toBeGreaterThanOrEqual(5 * every);
		});

		test("schedule upserts by name: the same timing keeps the slots, another re-anchors; cron in a timezone", async () => {
			const { connector, start } = await fresh();
			await start();
			await connector.schedule("daily", { type: "sched-none", every: 60_000 });
			const [first] = await connector.getSchedules();
			await connector.schedule("daily", {
				type: "sched-none",
				every: 60_000,
				payload: "changed",
				catchUp: "last"
			});
			const [same] = await connector.getSchedules();
			expect(same.nextSlot).toBe(first.nextSlot);
			expect(same).toMatchObject({ payload: "changed", catchUp: "last" });
			await connector.schedule("daily", { type: "sched-none", every: 120_000 });
			const [moved] = await connector.getSchedules();
			expect(Date.parse(moved.nextSlot ?? "")).toBeGreaterThan(Date.parse(first.nextSlot ?? ""));
			expect(moved.catchUp).toBe("none");

			// startAt anchors a new schedule's first slot; an upsert keeping the slots ignores it.
			const at = Date.parse("2030-01-01T00:00:00.000Z");
			await connector.schedule("later", { type: "sched-none", every: 1000, startAt: at });
			await connector.schedule("later", {
				type: "sched-none",
				every: 1000,
				startAt: "2031-01-01T00:00:00.000Z"
			});
			const later = (await connector.getSchedules()).find(s => s.name === "later");
			expect(later?.nextSlot).toBe("2030-01-01T00:00:00.000Z");
			await connector.unschedule("later");

			await connector.schedule("berlin", {
				type: "sched-none",
				cron: "0 3 * * *",
				timezone: "Europe/Berlin"
			});
			const berlin = (await connector.getSchedules()).find(s => s.name === "berlin");
			expect(berlin).toMatchObject({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
			const next = new Date(berlin?.nextSlot ?? "");
			const local = new Intl.DateTimeFormat("en-GB", {
				timeZone: "Europe/Berlin",
				hour: "2-digit",
				minute: "2-digit"
			}).format(next);
			expect(local).toBe("03:00");
			expect(next.getTime() - Date.now()).toBeLessThanOrEqual(25 * 3_600_000);
			expect((await connector.getSchedules()).map(s => s.name)).toEqual(["berlin", "daily"]);
		});

		test("schedule rejects bad input naming the field, and stores nothing", async () => {
			const { connector, start } = await fresh();
			await start();
			const cases: [unknown, unknown, string][] = [
				["", { type: "t", every: 10 }, "name"],
				["n", undefined, "schedule"],
				["n", { every: 10 }, "type"],
				["n", { type: "t" }, "every"],
				["n", { type: "t", every: 10, cron: "* * * * *" }, "every"],
				["n", { type: "t", every: 0 }, "every"],
				["n", { type: "t", every: 1.5 }, "every"],
				["n", { type: "t", cron: "* * *" }, "cron"],
				["n", { type: "t", cron: "@daily" }, "cron"],
				["n", { type: "t", cron: "* * * * *", timezone: "Mars/Olympus" }, "timezone"],
				["n", { type: "t", every: 10, timezone: "UTC" }, "timezone"],
				["n", { type: "t", every: 10, catchUp: "some" }, "catchUp"],
				["n", { type: "t", every: 10, startAt: "soon" }, "startAt"],
				["n", { type: "t", cron: "* * * * *", startAt: 0 }, "startAt"],
				["n", { type: "t", every: 10, options: { retryCount: -1 } }, "options.retryCount"],
				["n", { type: "t", every: 10, options: { dedupKey: "k" } }, "options.dedupKey"],
				["n", { type: "t", every: 10, payload: { f: (): void => {} } }, "payload"]
			];
			for (const [scheduleName, options, property] of cases) {
				await expect(
					connector.schedule(scheduleName as string, options as IScheduleOptions),
					`${property} of ${JSON.stringify(options)}`
				).rejects.toMatchObject({
					name: "ValidationError",
					properties: {
						validationFailures: expect.arrayContaining([expect.objectContaining({ property })])
					}
				});
			}
			await expect(connector.unschedule("")).rejects.toMatchObject({ name: "GuardError" });
			expect(await connector.getSchedules()).toEqual([]);
		});
	});
}
