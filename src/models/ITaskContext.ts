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
	 * Fires when the handler should end: its timeout passed, or stop() waited shutdownTimeout and
	 * the handler is still running. A handler that honours it (ends, by returning or throwing,
	 * within config.abortGrace) ends cleanly, and its worker is kept; one that ignores it has its
	 * worker terminated after the grace. Its reason is a DOMException named "TimeoutError" (the
	 * timeout) or "AbortError" (stop()).
	 */
	signal: AbortSignal;
}
