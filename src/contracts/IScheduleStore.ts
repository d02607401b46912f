// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { ISchedule } from "../models/ISchedule.js";

/**
 * A schedule as a store keeps it: the fields of ISchedule (documented there), with its slots as
 * epoch ms rather than ISO 8601 and its create() options as stored.
 */
export interface IStoredSchedule extends Omit<ISchedule, "options" | "nextSlot" | "lastSlot"> {
	/**
	 * The tasks' create() options, as stored.
	 */
	options?: { [key: string]: unknown };

	/**
	 * The next slot, epoch ms; undefined when a cron expression has no later time.
	 */
	nextSlot: number | undefined;

	/**
	 * The last slot fired, epoch ms, when one has.
	 */
	lastSlot?: number;
}

/**
 * Where schedules live, beside the tasks of a source. A shared database keeps them for every
 * instance and fires each slot once across them (compare-and-set of the stored next slot, with the
 * slot's tasks inserted in the same statement); a store of one instance keeps them in memory.
 */
export interface IScheduleStore {
	/**
	 * True when every instance on the store sees the same schedules and each slot fires once across
	 * them; false when they are this instance's own.
	 */
	readonly shared: boolean;

	/**
	 * Tell this listener when another instance changed a schedule (shared stores only).
	 * @param changed Called after a change.
	 */
	listen(changed: () => void): void;

	/**
	 * Insert or update a schedule by name. An update whose timing (every, cron, timezone) is the
	 * stored one keeps the stored next and last slots, so every node may declare the same schedule
	 * at its start without moving its slots; otherwise the given next slot is stored.
	 * @param schedule The schedule, with its first slot as next slot.
	 * @returns The schedule as stored.
	 */
	save(schedule: IStoredSchedule): Promise<IStoredSchedule>;

	/**
	 * Remove a schedule.
	 * @param name The name.
	 * @returns True when it existed.
	 */
	remove(name: string): Promise<boolean>;

	/**
	 * Every schedule, by name, and the store's current time (the clock firing is judged by).
	 * @returns The schedules and the store's time, epoch ms.
	 */
	list(): Promise<{ schedules: IStoredSchedule[]; now: number }>;

	/**
	 * Fire a schedule's due slots: move its next slot from `expected` to `next` only while the
	 * stored next slot is still `expected` and due on the store's clock, and store the tasks in the
	 * same step, only when the move happened.
	 * @param name The name.
	 * @param expected The next slot this instance read.
	 * @param next The next slot to store (undefined: none left).
	 * @param last The last slot fired.
	 * @param tasks The slots' tasks (may be empty: missed slots skipped).
	 * @returns True when this call moved the slot (and stored the tasks).
	 */
	fire(
		name: string,
		expected: number,
		next: number | undefined,
		last: number,
		tasks: BackgroundTask[]
	): Promise<boolean>;
}
