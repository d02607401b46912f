// Slot computation of recurring tasks (src/domain/scheduleSlots.ts), pure: every and cron (with a
// timezone across both DST changes), and the catch-up policies with their bound.
import { describe, expect, test } from "vitest";
import {
	MAX_CATCH_UP_SLOTS,
	MISSED_AFTER_MS,
	firstSlot,
	parseCron,
	planSlots,
	slotAfter
} from "../src/domain/scheduleSlots.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

describe("schedule slots", () => {
	test("every: the first slot is one period after storing, each next one a period after the last, whenever it fired", () => {
		const spec = { every: 250 };
		expect(firstSlot(spec, T0)).toBe(T0 + 250);
		// Fired 40 ms late: the next slot still counts from the slot, not from now.
		const plan = planSlots(spec, T0 + 250, T0 + 290, "none");
		expect(plan).toEqual({ fire: [T0 + 250], next: T0 + 500, last: T0 + 250 });
		expect(planSlots(spec, T0 + 500, T0 + 499, "all")).toEqual({
			fire: [],
			next: T0 + 500,
			last: T0 + 500
		});
	});

	test("cron in a timezone: next times from the previous slot, through both DST changes", () => {
		const spec = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
		// 02:30 does not exist on 2026-03-29 in Berlin: croner fires at 03:30 CEST that day, once.
		const beforeSpring = Date.parse("2026-03-28T01:30:00.000Z");
		const spring = slotAfter(spec, beforeSpring);
		expect(new Date(spring ?? 0).toISOString()).toBe("2026-03-29T01:30:00.000Z");
		expect(new Date(slotAfter(spec, spring ?? 0) ?? 0).toISOString()).toBe(
			"2026-03-30T00:30:00.000Z"
		);
		// 02:30 happens twice on 2026-10-25: one slot only.
		const beforeAutumn = Date.parse("2026-10-24T00:30:00.000Z");
		const autumn = slotAfter(spec, beforeAutumn) ?? 0;
		expect(new Date(autumn).toISOString()).toBe("2026-10-25T00:30:00.000Z");
		expect(new Date(slotAfter(spec, autumn) ?? 0).toISOString()).toBe("2026-10-26T01:30:00.000Z");
		// Six fields: seconds first.
		expect(slotAfter({ cron: "*/2 * * * * *" }, T0 + 500)).toBe(T0 + 2000);
	});

	test("cron refuses an expression of other than five or six fields and an unknown timezone", () => {
		expect(() => parseCron({ cron: "* * * * * * *" })).toThrow();
		expect(() => parseCron({ cron: "@daily" })).toThrow();
		expect(() => parseCron({ cron: "* * * * *", timezone: "Mars/Olympus" })).toThrow();
		expect(() => parseCron({ cron: "61 * * * *" })).toThrow();
	});

	test("catchUp none: missed slots are skipped, the latest fires while on time", () => {
		const spec = { every: 1000 };
		// Three slots passed; the latest is 500 ms late, on time.
		expect(planSlots(spec, T0, T0 + 2500, "none")).toEqual({
			fire: [T0 + 2000],
			next: T0 + 3000,
			last: T0 + 2000
		});
		// An hourly slot more than MISSED_AFTER_MS late is missed too.
		const hourly = { every: 3_600_000 };
		expect(planSlots(hourly, T0, T0 + MISSED_AFTER_MS + 1, "none")).toEqual({
			fire: [],
			next: T0 + 3_600_000,
			last: T0
		});
	});

	test("catchUp last: one task for the latest slot, however late", () => {
		const hourly = { every: 3_600_000 };
		expect(planSlots(hourly, T0, T0 + 5 * 3_600_000 + 10, "last")).toEqual({
			fire: [T0 + 5 * 3_600_000],
			next: T0 + 6 * 3_600_000,
			last: T0 + 5 * 3_600_000
		});
	});

	test("catchUp all: every missed slot, the latest MAX_CATCH_UP_SLOTS at most", () => {
		const spec = { every: 1000 };
		expect(planSlots(spec, T0, T0 + 2000, "all").fire).toEqual([T0, T0 + 1000, T0 + 2000]);
		const far = planSlots(spec, T0, T0 + 1000 * 1000 + 1, "all");
		expect(far.fire).toHaveLength(MAX_CATCH_UP_SLOTS);
		expect(far.fire[0]).toBe(T0 + 1000 * (1000 - MAX_CATCH_UP_SLOTS + 1));
		expect(far.fire[MAX_CATCH_UP_SLOTS - 1]).toBe(T0 + 1000 * 1000);
		expect(far.next).toBe(T0 + 1000 * 1001);
		// Cron too: the bound holds for a minutely cron down for a day.
		const cron = { cron: "* * * * *" };
		const day = planSlots(cron, T0 + 60_000, T0 + 86_400_000 + 5, "all");
		expect(day.fire).toHaveLength(MAX_CATCH_UP_SLOTS);
		expect(day.fire[MAX_CATCH_UP_SLOTS - 1]).toBe(T0 + 86_400_000);
		expect(day.next).toBe(T0 + 86_400_000 + 60_000);
		const few = planSlots(cron, T0 + 60_000, T0 + 180_000, "all");
		expect(few.fire).toEqual([T0 + 60_000, T0 + 120_000, T0 + 180_000]);
	});
});
