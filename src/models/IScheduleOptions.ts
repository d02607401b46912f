// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { CatchUp } from "../domain/scheduleSlots.js";
import type { ICreateTaskOptions } from "./ICreateTaskOptions.js";

/**
 * A recurring task (schedule()): a task of `type` is created at each slot, every `every` ms or
 * at each time the `cron` expression matches. Exactly one of every and cron is set.
 */
export interface IScheduleOptions {
	/**
	 * The type of the tasks created.
	 */
	type: string;

	/**
	 * The payload of every task created, any JSON value.
	 */
	payload?: unknown;

	/**
	 * The period in ms (a positive integer): the first slot is one period after the schedule is
	 * first stored, each later one a period after the one before.
	 */
	every?: number;

	/**
	 * The first slot of an `every` schedule (epoch ms, or an ISO 8601 date) when it is first stored
	 * or its timing changes; default one period after that. An upsert that keeps the slots ignores
	 * it.
	 */
	startAt?: number | string;

	/**
	 * A five-field (minute first) or six-field (second first) cron expression, read by croner.
	 */
	cron?: string;

	/**
	 * The IANA timezone the cron expression is read in (only with cron); default UTC.
	 */
	timezone?: string;

	/**
	 * The create() options of every task created (dedupKey excepted: each slot has its own task).
	 */
	options?: Omit<ICreateTaskOptions, "dedupKey">;

	/**
	 * What to do with slots that passed while no node fired them: "none" (default) skips them,
	 * "last" creates one task for the latest, "all" one per slot (the latest 100 at most).
	 */
	catchUp?: CatchUp;
}
