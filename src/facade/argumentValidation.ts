// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { Is, Validation, type IValidationFailure } from "@twin.org/core";
import { SortDirection } from "@twin.org/entity";
import { nameof } from "@twin.org/nameof";
import {
	MAX_RETAIN_MS,
	MAX_TIMER_MS,
	optionalInteger,
	validateConfig
} from "../config/settings.js";
import { jsonProblem } from "../domain/jsonValue.js";
import { RetryBackoff } from "../domain/retry.js";
import type { IEntityStorageBackgroundTaskConnectorConstructorOptions } from "../models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
import type { ICreateTaskOptions } from "../models/ICreateTaskOptions.js";
import type { IHandlerOptions } from "../models/IHandlerOptions.js";
import type { IRetryFailedOptions } from "../models/IRetryFailedOptions.js";

/**
 * The priority range: a PostgreSQL INTEGER.
 */
const MIN_PRIORITY = -2_147_483_648;
const MAX_PRIORITY = 2_147_483_647;

/**
 * The properties query() may sort by.
 */
const SORT_PROPERTIES = ["dateCreated", "dateModified", "dateCompleted", "status"] as const;

/**
 * When a task created with startAfter first falls due, epoch ms.
 * @param startAfter Milliseconds from now (an integer >= 0), or an ISO 8601 date.
 * @param nowMs The current time.
 * @returns The time, or undefined when startAfter is not valid.
 */
export function startAfterMs(startAfter: unknown, nowMs: number = Date.now()): number | undefined {
	if (Is.integer(startAfter)) {
		return startAfter >= 0 && startAfter <= MAX_RETAIN_MS ? nowMs + startAfter : undefined;
	}
	if (Is.string(startAfter) && (Is.dateTimeString(startAfter) || Is.dateString(startAfter))) {
		const at = Date.parse(startAfter);
		return Number.isFinite(at) ? at : undefined;
	}
	return undefined;
}

/**
 * Check the constructor's options and config.
 * @param source The class name for the error.
 * @param options The constructor's options.
 * @throws ValidationError naming every bad field.
 */
export function assertConstructorOptions(
	source: string,
	options: IEntityStorageBackgroundTaskConnectorConstructorOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
		for (const key of [
			"backgroundTaskEntityStorageType",
			"loggingComponentType",
			"loggingConnectorType"
		] as const) {
			if (!Is.undefined(options[key])) {
				Validation.stringValue(`options.${key}`, options[key], failures);
			}
		}
		failures.push(...validateConfig(options.config));
	}
	Validation.asValidationError(source, nameof(options), failures);
}

/**
 * Check registerHandler's arguments.
 * @param source The class name for the error.
 * @param taskType The task type.
 * @param module The module.
 * @param method The method.
 * @param stateChangeCallback The callback.
 * @param options The per-type options.
 * @throws ValidationError naming every bad field.
 */
export function assertHandlerArguments<T, U>(
	source: string,
	taskType: string,
	module: string,
	method: string,
	stateChangeCallback: ((task: IBackgroundTask<T, U>) => Promise<void>) | undefined,
	options: IHandlerOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	Validation.stringValue(nameof(taskType), taskType, failures);
	Validation.stringValue(nameof(module), module, failures);
	Validation.stringValue(nameof(method), method, failures);
	if (!Is.undefined(stateChangeCallback) && !Is.function(stateChangeCallback)) {
		failures.push({ property: nameof(stateChangeCallback), reason: "validation.beFunction" });
	}
	if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
		validateHandlerOptions(options, failures);
	}
	Validation.asValidationError(source, "registerHandler", failures);
}

/**
 * Validate registerHandler's options object, each failure named options.<field>.
 * @param options The options.
 * @param failures The failures to add to.
 */
function validateHandlerOptions(options: IHandlerOptions, failures: IValidationFailure[]): void {
	optionalInteger("options.concurrency", options.concurrency, failures, 1);
	optionalInteger("options.timeout", options.timeout, failures, 1, MAX_TIMER_MS);
	if (!Is.undefined(options.serial)) {
		Validation.boolean("options.serial", options.serial, failures);
	}
	if (
		!Is.undefined(options.rateLimit) &&
		Validation.object("options.rateLimit", options.rateLimit, failures)
	) {
		optionalInteger("options.rateLimit.max", options.rateLimit.max ?? null, failures, 1);
		optionalInteger(
			"options.rateLimit.per",
			options.rateLimit.per ?? null,
			failures,
			1,
			MAX_TIMER_MS
		);
	}
	if (options.serial === true && Is.integer(options.concurrency) && options.concurrency > 1) {
		// A serial type runs one task at a time: a larger concurrency is a contradiction.
		Validation.integer("options.concurrency", options.concurrency, failures, undefined, {
			minValue: 1,
			maxValue: 1
		});
	}
}

/**
 * Check create's arguments.
 * @param source The class name for the error.
 * @param type The task type.
 * @param payload The payload.
 * @param options The task options.
 * @throws ValidationError naming every bad field.
 */
export function assertCreateArguments(
	source: string,
	type: string,
	payload: unknown,
	options: ICreateTaskOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	Validation.stringValue(nameof(type), type, failures);
	validateCreateOptions(options, failures);
	const payloadProblem = Is.empty(payload) ? undefined : jsonProblem(payload, nameof(payload));
	if (payloadProblem) {
		failures.push({
			property: nameof(payload),
			reason: "validation.beJson",
			properties: { problem: payloadProblem }
		});
	}
	// "options", as the original names the object of create's validation error.
	Validation.asValidationError(source, nameof(options), failures);
}

/**
 * Check createMany's arguments; only the first payload that is not JSON is named.
 * @param source The class name for the error.
 * @param type The task type.
 * @param payloads The payloads.
 * @param options The task options.
 * @throws ValidationError naming every bad field.
 */
export function assertCreateManyArguments(
	source: string,
	type: string,
	payloads: unknown,
	options: ICreateTaskOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	Validation.stringValue(nameof(type), type, failures);
	validateCreateOptions(options, failures, "validation.notInCreateMany");
	if (!Is.array(payloads)) {
		failures.push({ property: nameof(payloads), reason: "validation.beJsonArray" });
	} else {
		for (let i = 0; i < payloads.length; i++) {
			const problem = Is.empty(payloads[i])
				? undefined
				: jsonProblem(payloads[i], `${nameof(payloads)}[${i}]`);
			if (problem) {
				failures.push({
					property: `${nameof(payloads)}[${i}]`,
					reason: "validation.beJson",
					properties: { problem }
				});
				break;
			}
		}
	}
	Validation.asValidationError(source, "createMany", failures);
}

/**
 * Check the type argument of pause() and resume().
 * @param source The class name for the error.
 * @param method The method, the error's name for what was checked.
 * @param type The task type.
 * @throws ValidationError naming the type when it is not a non-empty string.
 */
export function assertTypeArgument(source: string, method: string, type: unknown): void {
	const failures: IValidationFailure[] = [];
	Validation.stringValue(nameof(type), type, failures);
	Validation.asValidationError(source, method, failures);
}

/**
 * Check abort()'s reason (the task id is checked as every task URN is).
 * @param source The class name for the error.
 * @param reason The reason, when given.
 * @throws ValidationError naming reason when it is not a string.
 */
export function assertAbortArguments(source: string, reason: unknown): void {
	const failures: IValidationFailure[] = [];
	if (!Is.undefined(reason)) {
		Validation.string(nameof(reason), reason, failures);
	}
	Validation.asValidationError(source, "abort", failures);
}

/**
 * Check query's arguments.
 * @param source The class name for the error.
 * @param taskType The task type.
 * @param taskStatus The status.
 * @param sortProperty The sort property.
 * @param sortDirection The sort direction.
 * @param cursor The cursor.
 * @param pageSize The page size.
 * @throws ValidationError naming every bad field.
 */
export function assertQueryArguments(
	source: string,
	taskType: string | undefined,
	taskStatus: TaskStatus | undefined,
	sortProperty: string | undefined,
	sortDirection: SortDirection | undefined,
	cursor: string | undefined,
	pageSize: number | undefined
): void {
	const failures: IValidationFailure[] = [];
	if (!Is.undefined(taskType)) {
		Validation.stringValue(nameof(taskType), taskType, failures);
	}
	if (!Is.undefined(taskStatus)) {
		Validation.arrayOneOf(nameof(taskStatus), taskStatus, Object.values(TaskStatus), failures);
	}
	if (!Is.undefined(sortProperty)) {
		Validation.arrayOneOf(nameof(sortProperty), sortProperty, [...SORT_PROPERTIES], failures);
	}
	if (!Is.undefined(sortDirection)) {
		Validation.arrayOneOf(
			nameof(sortDirection),
			sortDirection,
			Object.values(SortDirection),
			failures
		);
	}
	if (!Is.undefined(cursor)) {
		Validation.string(nameof(cursor), cursor, failures);
	}
	optionalInteger(nameof(pageSize), pageSize, failures, 1);
	Validation.asValidationError(source, "query", failures);
}

/**
 * Check retryFailed's arguments.
 * @param source The class name for the error.
 * @param type The task type, when given.
 * @param options The options, when given.
 * @throws ValidationError naming every bad field.
 */
export function assertRetryFailedArguments(
	source: string,
	type: string | undefined,
	options: IRetryFailedOptions | undefined
): void {
	const failures: IValidationFailure[] = [];
	if (!Is.undefined(type)) {
		Validation.stringValue(nameof(type), type, failures);
	}
	if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
		optionalInteger("options.limit", options.limit, failures, 1);
	}
	Validation.asValidationError(source, "retryFailed", failures);
}

/**
 * Validate create's options, each failure named options.<field>.
 * @param options The options.
 * @param failures The failures to add to.
 * @param dedupRefused The failure's reason when dedupKey is refused (createMany, schedule).
 */
export function validateCreateOptions(
	options: ICreateTaskOptions | undefined,
	failures: IValidationFailure[],
	dedupRefused?: string
): void {
	if (Is.undefined(options) || !Validation.object(nameof(options), options, failures)) {
		return;
	}
	optionalInteger("options.retryCount", options.retryCount, failures, 1);
	optionalInteger("options.retryInterval", options.retryInterval, failures, 1, MAX_TIMER_MS);
	optionalInteger("options.retainFor", options.retainFor, failures, -1, MAX_RETAIN_MS);
	if (!Is.undefined(options.retryBackoff)) {
		Validation.arrayOneOf(
			"options.retryBackoff",
			options.retryBackoff,
			Object.values(RetryBackoff),
			failures
		);
	}
	optionalInteger("options.retryMaxInterval", options.retryMaxInterval, failures, 1, MAX_TIMER_MS);
	if (!Is.undefined(options.startAfter) && startAfterMs(options.startAfter) === undefined) {
		failures.push({ property: "options.startAfter", reason: "validation.beIsoDateOrMs" });
	}
	optionalInteger("options.priority", options.priority, failures, MIN_PRIORITY, MAX_PRIORITY);
	if (!Is.undefined(options.dedupKey)) {
		if (dedupRefused !== undefined) {
			failures.push({ property: "options.dedupKey", reason: dedupRefused });
		} else {
			Validation.stringValue("options.dedupKey", options.dedupKey, failures);
		}
	}
}
