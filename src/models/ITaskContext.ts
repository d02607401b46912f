// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What a running handler can learn about its task with getTaskContext(). Handlers are still
 * called exactly as the original calls them, (engineCloneData, payload); this is an extra they ask
 * for, never an extra argument.
 */
export interface ITaskContext {
	/**
	 * The task's storage id, the plain id the state-change callback gets (create() returns it as
	 * the URN "background-task:entity-storage:<id>").
	 */
	taskId: string;

	/**
	 * The task's type.
	 */
	type: string;

	/**
	 * The attempt running now, 1 for the first. Only tasks that record their attempts have it: a
	 * task created with a queue option (retryBackoff, retryMaxInterval, startAfter, priority,
	 * dedupKey) or under config.recordAttempts. A task stored as the original stores it (no
	 * attempts property) has none, and this is undefined.
	 */
	attempt?: number;

	/**
	 * The retries left if this attempt fails: the task's retriesRemaining, 0 when it has none.
	 */
	retriesRemaining: number;

	/**
	 * Fires when the handler should end: its timeout passed, stop() waited shutdownTimeout and
	 * the handler is still running, or abort(taskId, reason) stopped the task (on any node, on the
	 * native backend). A handler that honours it (ends, by returning or throwing, within
	 * config.abortGrace) ends cleanly, and its worker is kept; one that ignores it has its worker
	 * terminated after the grace. Its reason is a DOMException named "TimeoutError" (the timeout)
	 * or "AbortError" (stop(), with "The connector is stopping" as message; abort(), with the
	 * abort's reason as message, the task then recorded cancelled whatever the handler does).
	 */
	signal: AbortSignal;

	/**
	 * Report the task's progress: any JSON value (a number, a string, an object...). It is stored
	 * on the task as its `progress` property, which get(), query() and the state-change callback
	 * show: while the handler runs at most about once a second (the first report at once, later
	 * ones coalesced so the latest is written within about a second), and the last value reported
	 * always with the outcome. The value is copied as JSON when reported. A task whose handler never
	 * reports has no progress property.
	 * @param value The progress, any JSON value.
	 * @throws TypeError naming value when it is undefined or not JSON-serialisable (a function,
	 * symbol or bigint anywhere, a number that is not finite, a cycle, a Map, Set or typed array).
	 */
	reportProgress(value: unknown): void;

	/**
	 * The W3C trace context of this attempt's OpenTelemetry span (`traceparent`, and `tracestate`
	 * when it has one), when the node that runs the task has a registered tracer provider;
	 * undefined otherwise. The handler runs with that span active when its thread has an
	 * OpenTelemetry context manager (inline, the node's; in a worker, one the handler's module or
	 * engine registers there); elsewhere it can continue the trace with
	 * `propagation.extract(context.active(), traceContext)`.
	 */
	readonly traceContext?: { readonly [key: string]: string };
}
