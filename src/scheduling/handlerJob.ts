// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError } from "@twin.org/core";
import { EngineCoreFactory, type IEngineCore } from "@twin.org/engine-models";
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
		engineCloneData: engineCloneData(settings.engineName),
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
 * How long the clone data an engine gave is handed to the jobs made after it, ms.
 */
export const ENGINE_CLONE_REUSE_MS = 1;

/**
 * The clone data an engine gave last, and when.
 */
let lastClone: { engine: IEngineCore; at: number; data: unknown } | undefined;

/**
 * The named engine's clone data, asked of the engine at most once a millisecond: TWIN's engine
 * builds it anew on each call, reading every registered entity schema from their factory (18 us a
 * call with 30 schemas), while the jobs of a claimed batch are made together. The engine's config
 * and state in it are the engine's own objects, so what a job made within that millisecond sees is
 * what a call of its own would have given. The jobs share the one object: each executor gives its
 * handler a top-level object of its own (InlineExecutor.run; a worker builds one per job).
 * @param engineName The engine's name in EngineCoreFactory.
 * @returns The clone data, or undefined when no engine is registered under the name.
 */
export function engineCloneData(engineName: string): unknown {
	const engine = EngineCoreFactory.getIfExists(engineName);
	if (engine === undefined) {
		return undefined;
	}
	const now = performance.now();
	if (
		lastClone !== undefined &&
		lastClone.engine === engine &&
		now - lastClone.at < ENGINE_CLONE_REUSE_MS
	) {
		return lastClone.data;
	}
	const data = engine.getCloneData();
	lastClone = { engine, at: now, data };
	return data;
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
