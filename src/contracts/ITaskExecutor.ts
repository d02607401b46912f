// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AttemptOutcome } from "../domain/rules.js";
import type { IRegisteredHandler } from "./schedulerModels.js";

/**
 * One handler call: what to import and what to pass it.
 */
export interface IHandlerJob {
	/**
	 * The module specifier: file URL, absolute path or package name.
	 */
	module: string;

	/**
	 * The export name, or Export.member.
	 */
	method: string;

	/**
	 * The engine clone data, the handler's first argument.
	 */
	engineCloneData?: unknown;

	/**
	 * The payload, the handler's second argument when hasPayload.
	 */
	payload?: unknown;

	/**
	 * False to call the handler without a payload argument.
	 */
	hasPayload: boolean;

	/**
	 * The task's storage id, for the handler's context (getTaskContext()); a job without it runs
	 * its handler with no context.
	 */
	taskId?: string;

	/**
	 * The task's type, for the handler's context.
	 */
	type?: string;

	/**
	 * The attempt number, for the handler's context, when the task records its attempts.
	 */
	attempt?: number;

	/**
	 * The retries left if this attempt fails, for the handler's context.
	 */
	retriesRemaining?: number;

	/**
	 * Run the handler inside its tracked context even if the thread has not turned tracking on.
	 */
	trackContext?: boolean;

	/**
	 * The attempt span's W3C trace context (traceparent, tracestate), when an OpenTelemetry tracer
	 * provider is registered: the handler's context shows it, and the handler runs with that span
	 * active where its thread has an OpenTelemetry context manager.
	 */
	traceContext?: { [key: string]: string };
}

/**
 * Where the progress handlers report goes while they run: the task id and the value as JSON text,
 * at most about once a second per job (the last value reported also comes with the outcome).
 * Called outside any task context; it must not throw.
 */
export type ProgressListener = (taskId: string, progress: string) => void;

/**
 * What slotDepth() is asked about: a registered handler and its type's limits.
 */
export type ISlotDepthHandler = Pick<
	IRegisteredHandler,
	"module" | "method" | "concurrency" | "timeout"
>;

/**
 * Runs handlers. Knows nothing about tasks or storage: a job in, an outcome out, never a throw.
 */
export interface ITaskExecutor {
	/**
	 * Send the progress handlers report from now on to a listener (the runner's, set once before
	 * the first job); without one it is dropped until the outcome carries its last value.
	 * @param listener The listener.
	 */
	setProgressListener(listener: ProgressListener): void;

	/**
	 * How many runs of a handler may be in flight for each slot of its type (its concurrency): more
	 * than 1 only where the executor itself keeps the handler's calls running at once within the
	 * type's concurrency however many of its runs wait (worker mode: a quick handler's jobs wait in
	 * a message and run there one after another). Absent: 1.
	 * @param handler The handler, with its type's concurrency and timeout.
	 * @param type The task type (its jobs carry it).
	 * @returns The runs a slot, at least 1.
	 */
	slotDepth?(handler: ISlotDepthHandler, type: string): number;

	/**
	 * Run one handler call.
	 * @param job The call.
	 * @param timeoutMs Stop the handler after this long and fail the attempt.
	 * @returns The outcome.
	 */
	run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome>;

	/**
	 * stop() ran out of time: fire the abort signal of every handler running, and start no
	 * handler from now on (run() answers NOT_STARTED for a job whose handler has not been called
	 * yet, so a task that never ran is left for recovery rather than failed). Nothing is
	 * terminated: close() does that after the grace.
	 * @returns The number of jobs in flight (running, or waiting for a worker) when it was called.
	 */
	abortAll(): number;

	/**
	 * abort(id) on the connector: fire the signal of the handler running for this task (its
	 * reason a DOMException named "AbortError" with the reason as message). A job whose handler
	 * has not been called yet never calls it; one whose handler has not ended abortGrace later
	 * ends then (worker mode: its worker is terminated; inline: the attempt is abandoned, as a
	 * timeout's is) with ABORTED_ERROR_NAME as its error. The runner records the task cancelled
	 * whatever the outcome.
	 * @param taskId The task's storage id (IHandlerJob.taskId).
	 * @param reason The reason, the signal's message.
	 * @returns True when a job of the task was in this executor.
	 */
	abort(taskId: string, reason: string): boolean;

	/**
	 * Stop every handler still running and release the threads.
	 */
	close(): Promise<void>;
}

/**
 * How long a handler whose signal fired (its timeout, or stop() past shutdownTimeout) has to end
 * before its worker is terminated, ms: config.abortGrace's default.
 */
export const DEFAULT_ABORT_GRACE_MS = 1000;

/**
 * The error name of a task stopped by abort(id), in the signal's reason and in the cancelled
 * task's error.
 */
export const ABORTED_ERROR_NAME = "AbortError";

/**
 * The outcome of a job stopped by abort() whose handler did not end within abortGrace.
 * @param reason The reason.
 * @returns The outcome.
 */
export function abortedOutcome(reason: string): AttemptOutcome {
	return { ok: false, error: { name: ABORTED_ERROR_NAME, message: reason } };
}

/**
 * The outcome of a job whose handler was never called because abortAll() came first. Returned as
 * this very object, so the runner can tell it from an attempt's outcome by identity.
 */
export const NOT_STARTED: AttemptOutcome = Object.freeze({
	ok: false,
	error: Object.freeze({
		name: "TaskNotStartedError",
		message: "The connector stopped before the handler was called"
	})
}) as AttemptOutcome;
