// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Is } from "@twin.org/core";
import type { IResolvedConfig } from "../config/settings.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { RetryBackoff } from "../domain/retry.js";
import { iso } from "../domain/isoTime.js";
import { newTaskId } from "../domain/taskModel.js";
import type { ICreateTaskOptions } from "../models/ICreateTaskOptions.js";
import { startAfterMs } from "./argumentValidation.js";

/**
 * A new pending task from valid input.
 * @param config The connector's config: its thread id and the defaults of the queue options.
 * @param type The type.
 * @param payload The payload.
 * @param options The options.
 * @param nowMs The current time.
 * @returns The task.
 */
export function newTask(
	config: Pick<IResolvedConfig, "threadId" | "recordAttempts" | "retryBackoff">,
	type: string,
	payload: unknown,
	options: ICreateTaskOptions | undefined,
	nowMs: number
): BackgroundTask {
	const now = iso(nowMs);
	const task: BackgroundTask = {
		id: newTaskId(),
		type,
		threadId: config.threadId,
		dateCreated: now,
		dateModified: now,
		dateNextProcess: now,
		status: TaskStatus.Pending,
		retainFor: options?.retainFor ?? 0
	};
	if (!Is.empty(payload)) {
		task.payload = JSON.parse(JSON.stringify(payload) as string);
	}
	if (!Is.undefined(options?.retryCount)) {
		task.retriesRemaining = options.retryCount;
	}
	if (!Is.undefined(options?.retryInterval)) {
		task.retryInterval = options.retryInterval;
	}
	if (applyQueueOptions(task, config, options, nowMs) || !Is.undefined(options?.retryBackoff)) {
		task.attempts = 0;
	}
	return task;
}

/**
 * Set this package's queue options on a task. They are stored only when given, so a task created
 * as the original creates it is stored exactly as the original stores it.
 * @param task The task.
 * @param config The connector's config.
 * @param options The options.
 * @param nowMs The current time.
 * @returns True when the task uses a queue option (or the config records attempts), so it counts
 * its attempts.
 */
function applyQueueOptions(
	task: BackgroundTask,
	config: Pick<IResolvedConfig, "recordAttempts" | "retryBackoff">,
	options: ICreateTaskOptions | undefined,
	nowMs: number
): boolean {
	let queued = config.recordAttempts;
	const backoff = options?.retryBackoff ?? config.retryBackoff;
	if (backoff === RetryBackoff.Exponential) {
		task.retryBackoff = backoff;
		queued = true;
	}
	if (!Is.undefined(options?.retryMaxInterval)) {
		task.retryMaxInterval = options.retryMaxInterval;
		queued = true;
	}
	if (!Is.undefined(options?.startAfter)) {
		task.dateNextProcess = iso(Math.max(nowMs, startAfterMs(options.startAfter, nowMs) ?? nowMs));
		queued = true;
	}
	if (!Is.undefined(options?.priority)) {
		if (options.priority !== 0) {
			task.priority = options.priority;
		}
		queued = true;
	}
	if (!Is.undefined(options?.dedupKey)) {
		task.dedupKey = options.dedupKey;
		queued = true;
	}
	return queued;
}
