// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * What a handler reads through getTaskContext(): its task's fields and an abort signal made only
 * when asked for. Plain JavaScript with no dependency on the rest of the package, like the handler
 * runner (handlerWorker.mjs) that imports it.
 */

/**
 * A handler's context (ITaskContext), read-only: one per job with a taskId, reached through the
 * thread's context store once tracking is on, else through contextState.current during the
 * handler's synchronous call (see the top of handlerWorker.mjs).
 */
export class TaskContext {
	/**
	 * The job.
	 * @type {{ taskId: string, type: string, attempt?: number, retriesRemaining?: number }}
	 */
	#job;

	/**
	 * The job's abort state.
	 * @type {JobAbort}
	 */
	#abort;

	/**
	 * @param {{ taskId: string, type: string, attempt?: number, retriesRemaining?: number }} job
	 *   The job.
	 * @param {JobAbort} abort The job's abort state.
	 */
	constructor(job, abort) {
		this.#job = job;
		this.#abort = abort;
	}

	/**
	 * @returns {string} The task's storage id.
	 */
	get taskId() {
		return this.#job.taskId;
	}

	/**
	 * @returns {string} The task's type.
	 */
	get type() {
		return this.#job.type;
	}

	/**
	 * @returns {number | undefined} The attempt, when the task records attempts.
	 */
	get attempt() {
		return this.#job.attempt ?? undefined;
	}

	/**
	 * @returns {number} The retries left if this attempt fails.
	 */
	get retriesRemaining() {
		return this.#job.retriesRemaining ?? 0;
	}

	/**
	 * @returns {AbortSignal} Fires on the timeout and on stop() past shutdownTimeout.
	 */
	get signal() {
		return this.#abort.signal;
	}

	/**
	 * The plain fields, for JSON.stringify and logging.
	 * @returns {{ taskId: string, type: string, attempt?: number, retriesRemaining: number }} The fields.
	 */
	toJSON() {
		return {
			taskId: this.taskId,
			type: this.type,
			attempt: this.attempt,
			retriesRemaining: this.retriesRemaining
		};
	}
}

/**
 * One job's abort state. Its AbortSignal is made only when the handler asks for it: an
 * AbortController costs more to create than the rest of a job's context, and most handlers never
 * look.
 */
export class JobAbort {
	/**
	 * Whether abort() was called.
	 * @type {boolean}
	 */
	aborted = false;

	/**
	 * The reason given to abort().
	 * @type {unknown}
	 */
	reason = undefined;

	/**
	 * The controller, once the signal was asked for.
	 * @type {AbortController | undefined}
	 */
	#controller = undefined;

	/**
	 * Abort, once: the signal fires now if it exists, or is made aborted when asked for.
	 * @param {unknown} reason The reason.
	 */
	abort(reason) {
		if (!this.aborted) {
			this.aborted = true;
			this.reason = reason;
			this.#controller?.abort(reason);
		}
	}

	/**
	 * The signal, made on first use.
	 * @returns {AbortSignal} The signal.
	 */
	get signal() {
		if (this.#controller === undefined) {
			this.#controller = new AbortController();
			if (this.aborted) {
				this.#controller.abort(this.reason);
			}
		}
		return this.#controller.signal;
	}
}
