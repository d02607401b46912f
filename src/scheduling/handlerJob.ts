// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError } from "@twin.org/core";
import { EngineCoreFactory } from "@twin.org/engine-models";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import {
	abortedOutcome,
	type IHandlerJob,
	type ITaskExecutor
} from "../contracts/ITaskExecutor.js";
import { abortedRun, settled, type AttemptOutcome } from "../domain/rules.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../contracts/schedulerModels.js";
import type { TraceCarrier } from "../telemetry/taskTelemetry.js";

/**
 * The executor's job for one run of a task: what to import and what to pass the handler.
 * @param settings The scheduler settings (engine name, context tracking).
 * @param type The task type.
 * @param handler The handler.
 * @param task The claimed task.
 * @param traceContext The attempt span's trace context, when a tracer provider is registered.
 * @returns The job.
 */
export function handlerJob(
	settings: ISchedulerSettings,
	type: string,
	handler: IRegisteredHandler,
	task: BackgroundTask,
	traceContext?: TraceCarrier
): IHandlerJob {
	const job: IHandlerJob = {
		module: handler.module,
		method: handler.method,
		engineCloneData: EngineCoreFactory.getIfExists(settings.engineName)?.getCloneData(),
		payload: task.payload,
		hasPayload: task.payload !== undefined && task.payload !== null,
		// The handler's context (getTaskContext()); its arguments stay the original's.
		taskId: task.id,
		type,
		attempt: task.attempts,
		retriesRemaining: task.retriesRemaining ?? 0,
		trackContext: settings.trackTaskContext || undefined
	};
	if (traceContext !== undefined) {
		job.traceContext = traceContext;
	}
	return job;
}

/**
 * One attempt of a task's handler in the executor. The executor reports failures as outcomes;
 * anything it throws regardless becomes a failed attempt rather than a task left processing. A
 * run aborted before its handler was called does not call it.
 * @param executor The executor.
 * @param job The job.
 * @param timeout The handler's timeout.
 * @param abortedBefore The reason of an abort asked before the attempt, if any.
 * @returns The outcome.
 */
export async function runAttempt(
	executor: ITaskExecutor,
	job: IHandlerJob,
	timeout: number | undefined,
	abortedBefore: string | undefined
): Promise<AttemptOutcome> {
	if (abortedBefore !== undefined) {
		return abortedOutcome(abortedBefore);
	}
	try {
		return await executor.run(job, timeout);
	} catch (err) {
		return { ok: false, error: BaseError.fromError(err).toJsonObject() };
	}
}

/**
 * The task after an attempt: cancelled by abortedRun when an abort was asked before its outcome
 * was decided (whatever the handler returned), else settled by the rules.
 * @param settings The scheduler settings (retry intervals, the dead-letter's retain period).
 * @param task The task as claimed.
 * @param outcome What the attempt came to.
 * @param abortReason The reason of the abort asked of the run, if any.
 * @returns The task to record.
 */
export function afterAttempt(
	settings: ISchedulerSettings,
	task: BackgroundTask,
	outcome: AttemptOutcome,
	abortReason: string | undefined
): BackgroundTask {
	const now = Date.now();
	return abortReason !== undefined
		? abortedRun(task, abortReason, now)
		: settled(
				task,
				outcome,
				now,
				settings.retryInterval,
				settings.retryMaxInterval,
				Math.random,
				settings.failedRetainFor
			);
}
