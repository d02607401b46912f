// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Is, Validation, type IValidationFailure } from "@twin.org/core";
import { nameof } from "@twin.org/nameof";
import { MAX_RETAIN_MS, optionalInteger } from "../config/settings.js";
import { parseCron, type CatchUp } from "../domain/scheduleSlots.js";
import type { IScheduleOptions } from "../models/IScheduleOptions.js";
import { jsonProblem } from "../domain/jsonValue.js";
import { validateCreateOptions } from "./argumentValidation.js";

/**
 * The catch-up policies.
 */
const CATCH_UPS: CatchUp[] = ["none", "last", "all"];

/**
 * Validate schedule()'s arguments, naming each bad field as the caller wrote it ("every",
 * "options.retryCount").
 * @param source The class name for errors.
 * @param name The schedule's name.
 * @param schedule The schedule.
 * @throws ValidationError naming each bad field; nothing is written.
 */
export function assertScheduleArguments(
	source: string,
	name: unknown,
	schedule: IScheduleOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	Validation.stringValue(nameof(name), name, failures);
	if (Validation.object(nameof(schedule), schedule, failures)) {
		validateSchedule(schedule, failures);
	}
	Validation.asValidationError(source, "schedule", failures);
}

/**
 * Validate a schedule object's fields.
 * @param schedule The schedule.
 * @param failures The failures to add to.
 */
function validateSchedule(schedule: IScheduleOptions, failures: IValidationFailure[]): void {
	Validation.stringValue("type", schedule.type, failures);
	if (Is.undefined(schedule.every) === Is.undefined(schedule.cron)) {
		failures.push({ property: "every", reason: "validation.everyOrCron" });
	}
	// Up to the longest retainFor: a period past the timers' limit is waited for in steps.
	optionalInteger("every", schedule.every, failures, 1, MAX_RETAIN_MS);
	if (!Is.undefined(schedule.cron)) {
		if (Validation.stringValue("cron", schedule.cron, failures)) {
			cronProblem(schedule, failures);
		}
	} else if (!Is.undefined(schedule.timezone)) {
		failures.push({ property: "timezone", reason: "validation.timezoneNeedsCron" });
	}
	if (!Is.undefined(schedule.startAt)) {
		if (Is.undefined(schedule.every)) {
			failures.push({ property: "startAt", reason: "validation.startAtNeedsEvery" });
		} else if (startAtMs(schedule.startAt) === undefined) {
			failures.push({ property: "startAt", reason: "validation.beEpochOrIsoDate" });
		}
	}
	if (!Is.undefined(schedule.catchUp)) {
		Validation.arrayOneOf("catchUp", schedule.catchUp, CATCH_UPS, failures);
	}
	const payloadProblem = Is.empty(schedule.payload)
		? undefined
		: jsonProblem(schedule.payload, "payload");
	if (payloadProblem) {
		failures.push({
			property: "payload",
			reason: "validation.beJson",
			properties: { problem: payloadProblem }
		});
	}
	validateCreateOptions(schedule.options, failures, "validation.notInSchedule");
}

/**
 * The first slot a schedule's startAt names.
 * @param startAt Epoch ms (an integer >= 0) or an ISO 8601 date.
 * @returns Epoch ms, or undefined when startAt is not valid.
 */
export function startAtMs(startAt: unknown): number | undefined {
	if (Is.integer(startAt)) {
		return startAt >= 0 ? startAt : undefined;
	}
	return Is.string(startAt) && (Is.dateTimeString(startAt) || Is.dateString(startAt))
		? Date.parse(startAt)
		: undefined;
}

/**
 * Check that croner parses the cron expression in the timezone.
 * @param schedule The schedule, with a cron string.
 * @param failures The failures to add to.
 */
function cronProblem(schedule: IScheduleOptions, failures: IValidationFailure[]): void {
	if (!Is.undefined(schedule.timezone)) {
		if (!Validation.stringValue("timezone", schedule.timezone, failures)) {
			return;
		}
		try {
			new Intl.DateTimeFormat("en", { timeZone: schedule.timezone });
		} catch {
			failures.push({ property: "timezone", reason: "validation.beTimezone" });
			return;
		}
	}
	try {
		parseCron(schedule);
	} catch (err) {
		failures.push({
			property: "cron",
			reason: "validation.beCron",
			properties: { problem: err instanceof Error ? err.message : String(err) }
		});
	}
}
