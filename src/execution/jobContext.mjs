// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * What a handler reads through getTaskContext(): its task's fields and an abort signal made only
 * when asked for. Plain JavaScript with no dependency on the rest of the package, like the handler
 * runner (handlerWorker.mjs) that imports it.
 */

/**
 * How often a job's progress reaches its sink at most, ms: the first report at once, later ones
 * coalesced so that the latest is passed on within this long. The runner writes each value it is
 * passed, so this is also how often a task's progress is written at most.
 */
export const PROGRESS_INTERVAL_MS = 1000;

/**
 * Where a job's progress goes while its handler runs: called with the task id and the value as
 * JSON text, at most once per PROGRESS_INTERVAL_MS per job.
 * @typedef {(taskId: string, progress: string) => void} ProgressSink
 */

/**
 * A handler's context (ITaskContext), read-only but for the progress it reports: one per job with
 * a taskId, reached through the thread's context store once tracking is on, else through
 * contextState.current during the handler's synchronous call (see the top of handlerWorker.mjs).
 */
export class TaskContext {
	/**
	 * The job.
	 * @type {{ taskId: string, type: string, attempt?: number, retriesRemaining?: number, traceContext?: { [key: string]: string } }}
	 */
	#job;

	/**
	 * The job's abort state.
	 * @type {JobAbort}
	 */
	#abort;

	/**
	 * Where reported progress goes while the handler runs, if anywhere.
	 * @type {ProgressSink | undefined}
	 */
	#sink;

	/**
	 * The job's progress, made by its first report: most handlers never report.
	 * @type {JobProgress | undefined}
	 */
	#progress = undefined;

	/**
	 * reportProgress, bound to this context, made when first asked for.
	 * @type {((value: unknown) => void) | undefined}
	 */
	#report = undefined;

	/**
	 * @param {{ taskId: string, type: string, attempt?: number, retriesRemaining?: number, traceContext?: { [key: string]: string } }} job
	 *   The job.
	 * @param {JobAbort} abort The job's abort state.
	 * @param {ProgressSink} [sink] Where reported progress goes while the handler runs.
	 */
	constructor(job, abort, sink) {
		this.#job = job;
		this.#abort = abort;
		this.#sink = sink;
	}

	/**
	 * Report the task's progress: stored on the task as its progress property (at most about once
	 * a second while the handler runs, and the last value reported with the outcome). A getter
	 * returning a bound function, so that `const { reportProgress } = getTaskContext()` works, as
	 * destructuring does for the other fields; made only when a handler asks for it.
	 * @returns {(value: unknown) => void} The function; it throws a TypeError naming value when the
	 *   value is undefined or not JSON-serialisable.
	 */
	get reportProgress() {
		this.#report ??= value => {
			const text = progressJson(value);
			this.#progress ??= new JobProgress(this.#job.taskId, this.#sink);
			this.#progress.report(text);
		};
		return this.#report;
	}

	/**
	 * The handler has ended: nothing more is passed on.
	 * @returns {string | undefined} The last progress reported, as JSON text, if any.
	 */
	endProgress() {
		return this.#progress?.end();
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
	 * @returns {{ [key: string]: string } | undefined} The attempt span's W3C trace context, when
	 *   the scheduler's thread has an OpenTelemetry tracer provider.
	 */
	get traceContext() {
		return this.#job.traceContext;
	}

	/**
	 * @returns {AbortSignal} Fires on the timeout, on stop() past shutdownTimeout and on
	 *   abort(taskId).
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

/**
 * One job's reported progress: the latest value, and when it was last passed to the sink. The
 * first report is passed on at once; one within PROGRESS_INTERVAL_MS of the last is held, and the
 * latest held value passed on when the interval has passed (by a timer that never keeps the
 * thread alive). Nothing is passed on once the handler has ended: the last value travels with the
 * outcome instead.
 */
class JobProgress {
	/**
	 * The task id.
	 * @type {string}
	 */
	#taskId;

	/**
	 * The sink, if any.
	 * @type {ProgressSink | undefined}
	 */
	#sink;

	/**
	 * The latest value, as JSON text.
	 * @type {string | undefined}
	 */
	#latest = undefined;

	/**
	 * The latest value was passed on.
	 * @type {boolean}
	 */
	#sent = false;

	/**
	 * When a value was last passed on, performance.now().
	 * @type {number}
	 */
	#sentAt = Number.NEGATIVE_INFINITY;

	/**
	 * The timer that passes on a held value.
	 * @type {ReturnType<typeof setTimeout> | undefined}
	 */
	#timer = undefined;

	/**
	 * The handler has ended.
	 * @type {boolean}
	 */
	#ended = false;

	/**
	 * @param {string} taskId The task id.
	 * @param {ProgressSink | undefined} sink The sink.
	 */
	constructor(taskId, sink) {
		this.#taskId = taskId;
		this.#sink = sink;
	}

	/**
	 * A value was reported.
	 * @param {string} text The value as JSON text.
	 */
	report(text) {
		if (this.#ended) {
			return;
		}
		this.#latest = text;
		this.#sent = false;
		if (this.#sink === undefined || this.#timer !== undefined) {
			return;
		}
		const wait = this.#sentAt + PROGRESS_INTERVAL_MS - performance.now();
		if (wait <= 0) {
			this.#send();
		} else {
			this.#timer = setTimeout(() => {
				this.#timer = undefined;
				this.#send();
			}, wait);
			this.#timer.unref?.();
		}
	}

	/**
	 * The handler has ended.
	 * @returns {string | undefined} The latest value.
	 */
	end() {
		this.#ended = true;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		return this.#latest;
	}

	/**
	 * Pass the latest value on, unless it was already or the handler has ended.
	 */
	#send() {
		if (this.#ended || this.#sent || this.#latest === undefined) {
			return;
		}
		this.#sent = true;
		this.#sentAt = performance.now();
		try {
			this.#sink?.(this.#taskId, this.#latest);
		} catch {
			// A progress that cannot be passed on is dropped: it never fails the handler.
		}
	}
}

/**
 * A progress value as the JSON text stored for it. Stricter than JSON.stringify, which would drop
 * or mangle some values silently, like the check of a payload: a function, symbol or bigint
 * anywhere, a number that is not finite, undefined in an array, a Map, Set or typed array.
 * @param {unknown} value The value.
 * @returns {string} The JSON text.
 * @throws {TypeError} naming value.
 */
function progressJson(value) {
	if (value === undefined) {
		throw new TypeError("reportProgress: value must be a JSON value, not undefined");
	}
	try {
		return JSON.stringify(value, strictJson);
	} catch (err) {
		throw new TypeError(
			`reportProgress: value is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`
		);
	}
}

/**
 * JSON.stringify's replacer for progressJson: throws on what JSON cannot hold.
 * @this {unknown} The object or array holding the value.
 * @param {string} key The value's key ("" for the top level).
 * @param {unknown} value The value, after its toJSON().
 * @returns {unknown} The value.
 */
function strictJson(key, value) {
	const where = key === "" ? "value" : `value's "${key}"`;
	switch (typeof value) {
		case "function":
		case "symbol":
		case "bigint":
			throw new TypeError(`${where} is a ${typeof value}, which JSON cannot hold`);
		case "number":
			if (!Number.isFinite(value)) {
				throw new TypeError(`${where} is ${value}, which JSON cannot hold`);
			}
			break;
		case "undefined":
			if (Array.isArray(this)) {
				throw new TypeError(`${where} is undefined in an array, which JSON cannot hold`);
			}
			break;
		case "object":
			if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value)) {
				throw new TypeError(`${where} is a ${value.constructor.name}, which JSON cannot hold`);
			}
			break;
	}
	return value;
}
