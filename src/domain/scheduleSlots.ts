// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Cron } from "croner";

/**
 * The most missed slots catchUp "all" creates tasks for at once: the latest ones; older missed
 * slots are skipped, so a schedule that was down for long cannot flood the queue.
 */
export const MAX_CATCH_UP_SLOTS = 100;

/**
 * How late a slot may fire at most and still count as on time (catchUp "none"): a slot is missed
 * once its successor's time has passed or it is this late, whichever comes first.
 */
export const MISSED_AFTER_MS = 60_000;

/**
 * What to do with slots that passed while no node fired them.
 * - `none`: skip them; only a slot that is on time fires.
 * - `last`: one task for the latest slot that passed, however late.
 * - `all`: one task per slot that passed, the latest MAX_CATCH_UP_SLOTS at most.
 */
export type CatchUp = "none" | "last" | "all";

/**
 * When a schedule's slots fall: every `every` ms from the first slot, or at each time a cron
 * expression matches in a timezone (UTC when absent).
 */
export interface ISlotSpec {
	/**
	 * The period, ms.
	 */
	every?: number;

	/**
	 * A five- or six-field cron expression (six: seconds first).
	 */
	cron?: string;

	/**
	 * The IANA timezone the cron expression is read in.
	 */
	timezone?: string;
}

/**
 * What firing due slots means for a schedule.
 */
export interface ISlotPlan {
	/**
	 * The slots to create a task for, epoch ms, oldest first (may be empty: missed slots skipped).
	 */
	fire: number[];

	/**
	 * The slot to store as the next one; undefined when a cron expression has no further time.
	 */
	next: number | undefined;

	/**
	 * The latest due slot (fired or skipped), to store as the last one.
	 */
	last: number;
}

/**
 * A cron expression parsed by croner, for evaluation only (no timer).
 * @param spec The spec, with cron set.
 * @returns The parsed expression.
 * @throws When the expression or timezone is invalid.
 */
export function parseCron(spec: ISlotSpec): Cron {
	const cron = spec.cron ?? "";
	if (!/^\S+(\s+\S+){4,5}$/.test(cron.trim())) {
		throw new Error("a cron expression has five or six fields");
	}
	if (spec.timezone !== undefined) {
		// croner accepts an unknown zone at parse time; Intl refuses it.
		new Intl.DateTimeFormat("en", { timeZone: spec.timezone });
	}
	return new Cron(cron.trim(), { timezone: spec.timezone, mode: "5-or-6-parts" });
}

/**
 * The slot following a slot (never computed from "now", so a schedule does not drift).
 * @param spec The spec.
 * @param slot The previous slot, epoch ms.
 * @param cron The spec's parsed cron expression, when it has one (saves parsing again).
 * @returns The next slot, or undefined when a cron expression matches no later time.
 */
export function slotAfter(spec: ISlotSpec, slot: number, cron?: Cron): number | undefined {
	if (spec.every !== undefined) {
		return slot + spec.every;
	}
	return (cron ?? parseCron(spec)).nextRun(new Date(slot))?.getTime();
}

/**
 * The first slot of a schedule stored now: one period after it for `every` (the anchor from which
 * every later slot counts), the cron expression's next time for `cron`.
 * @param spec The spec.
 * @param nowMs The time the schedule is first stored.
 * @returns The first slot.
 */
export function firstSlot(spec: ISlotSpec, nowMs: number): number | undefined {
	return slotAfter(spec, nowMs);
}

/**
 * Which of a schedule's slots fire now, and the next slot to store. Due slots are those from the
 * stored next slot up to now; the latest of them is on time unless its successor has passed too or
 * it is over MISSED_AFTER_MS late, and every earlier one is missed.
 * @param spec The spec.
 * @param nextSlot The stored next slot, epoch ms.
 * @param nowMs The current time (the store's clock).
 * @param catchUp What to do with missed slots.
 * @returns The plan; nothing fires (and next is nextSlot) while nextSlot is not due.
 */
export function planSlots(
	spec: ISlotSpec,
	nextSlot: number,
	nowMs: number,
	catchUp: CatchUp
): ISlotPlan {
	if (nextSlot > nowMs) {
		return { fire: [], next: nextSlot, last: nextSlot };
	}
	const cron = spec.cron === undefined ? undefined : parseCron(spec);
	const due = dueSlots(spec, nextSlot, nowMs, cron);
	const latest = due[due.length - 1];
	const next = slotAfter(spec, latest, cron);
	if (catchUp === "all") {
		return { fire: due, next, last: latest };
	}
	if (catchUp === "last") {
		return { fire: [latest], next, last: latest };
	}
	const onTime = nowMs - latest < MISSED_AFTER_MS;
	return { fire: onTime ? [latest] : [], next, last: latest };
}

/**
 * The due slots from nextSlot to now, oldest first, the latest MAX_CATCH_UP_SLOTS at most.
 * @param spec The spec.
 * @param nextSlot The first due slot.
 * @param nowMs Now.
 * @param cron The parsed cron expression, when the spec has one.
 * @returns The slots (at least nextSlot).
 */
function dueSlots(spec: ISlotSpec, nextSlot: number, nowMs: number, cron?: Cron): number[] {
	if (spec.every !== undefined) {
		const passed = Math.floor((nowMs - nextSlot) / spec.every);
		const from = Math.max(0, passed - MAX_CATCH_UP_SLOTS + 1);
		const slots: number[] = [];
		for (let i = from; i <= passed; i++) {
			slots.push(nextSlot + i * spec.every);
		}
		return slots;
	}
	// The cron times up to now, newest first, bounded; those before nextSlot are not due. croner
	// leaves out a time in the reference's own second, hence the second added (filtered below).
	const before = (cron ?? parseCron(spec))
		.previousRuns(MAX_CATCH_UP_SLOTS + 1, new Date(nowMs + 1000))
		.map(d => d.getTime())
		.filter(t => t >= nextSlot && t <= nowMs)
		.slice(0, MAX_CATCH_UP_SLOTS)
		.reverse();
	return before.length === 0 ? [nextSlot] : before;
}
