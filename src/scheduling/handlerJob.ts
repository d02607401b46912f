// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { EngineCoreFactory } from "@twin.org/engine-models";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { IHandlerJob } from "../contracts/ITaskExecutor.js";
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
