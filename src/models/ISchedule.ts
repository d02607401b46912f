// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { CatchUp } from "../domain/scheduleSlots.js";
import type { ICreateTaskOptions } from "./ICreateTaskOptions.js";

/**
 * A stored schedule, as getSchedules() returns it.
 */
export interface ISchedule {
	/**
	 * The schedule's name (unique).
	 */
	name: string;

	/**
	 * The type of the tasks created.
	 */
	type: string;

	/**
	 * The payload of every task created.
	 */
	payload?: unknown;

	/**
	 * The period, ms, when the schedule is periodic.
	 */
	every?: number;

	/**
	 * The cron expression, when the schedule follows one.
	 */
	cron?: string;

	/**
	 * The timezone of the cron expression, when set.
	 */
	timezone?: string;

	/**
	 * The create() options of every task created.
	 */
	options?: Omit<ICreateTaskOptions, "dedupKey">;

	/**
	 * What is done with missed slots.
	 */
	catchUp: CatchUp;

	/**
	 * The next slot, ISO 8601; absent when a cron expression matches no later time.
	 */
	nextSlot?: string;

	/**
	 * The last slot that fired (created a task or was skipped as missed), ISO 8601.
	 */
	lastSlot?: string;
}
