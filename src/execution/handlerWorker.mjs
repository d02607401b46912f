// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * Runs task handlers. Loaded as the worker entry of the pool (worker mode) and imported directly
 * on the calling thread (inline mode), so both modes share one implementation.
 *
 * Plain JavaScript with no dependency on the rest of the package, so the same file serves the
 * ES module and CommonJS builds and the tests without a compile step.
 *
 * It never throws: every outcome comes back as an envelope, { ok: true, result } or
 * { ok: false, error }, with the handler's own error name and message kept (a structured clone of
 * a thrown error would lose a custom class name); { ok: false, notStarted: true } when the job's
 * signal was aborted before its handler was called (stop() ran out of time). An envelope carries
 * the last progress the handler reported (its context's reportProgress) as JSON text, so the
 * outcome is recorded with it whatever reached the runner before.
 *
 * A job with a taskId gives its handler a task context, which the handler reads with
 * getTaskContext() (src/utils/taskContext.ts); the handler's arguments are the original's,
 * unchanged. The context reaches the handler in one of two ways (contextState below):
 * - tracked: the handler runs inside the thread's AsyncLocalStorage, so its context is there
 *   after any await and in work it starts. On Node 20 that turns on async hooks for the whole
 *   thread, which costs every promise of the thread (see docs/performance.md), so it is on only
 *   once asked for: the first getTaskContext() in the thread, or a job with trackContext (config
 *   trackTaskContext);
 * - until then, the context is published for the synchronous part of the handler's call only, so
 *   the first getTaskContext() of a thread, made there, still gets it (and turns tracking on).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { JobAbort, TaskContext } from "./jobContext.mjs";
import { locateModule } from "./moduleLocator.mjs";
import { traceCall, traceReady } from "./handlerTrace.mjs";

export { JobAbort };

/**
 * The globalThis key of the thread's task context store: TASK_CONTEXT_KEY of taskContext.ts,
 * spelled out because this file is plain JavaScript loaded without the rest of the package. The
 * package's builds (ES module, CommonJS) create the one store under it and this runner uses it.
 */
const TASK_CONTEXT_KEY = Symbol.for(
	"@twin-fast/background-task-connector-entity-storage/taskContext"
);

/**
 * The globalThis key of the thread's context state, { tracked, current }: tracked once a handler
 * asked for its context (getTaskContext() sets it) or a job required it; current is the context of
 * the handler whose call is on the stack while tracking is off. Spelled the same in taskContext.ts.
 */
const CONTEXT_STATE_KEY = Symbol.for(
	"@twin-fast/background-task-connector-entity-storage/taskContextState"
);

/**
 * The thread's context state, shared through globalThis with every copy of the package.
 * @type {{ tracked: boolean, current: TaskContext | undefined }}
 */
const contextState = (globalThis[CONTEXT_STATE_KEY] ??= { tracked: false, current: undefined });

/**
 * Imported handler modules by specifier: each module is imported once per thread.
 * @type {Map<string, Promise<Record<string, unknown>>>}
 */
const modules = new Map();

/**
 * Resolved handler functions by specifier, then method, bound to their owner.
 * @type {Map<string, Map<string, (...args: unknown[]) => unknown>>}
 */
const handlers = new Map();

/**
 * Run one handler.
 * @param {{ module: string, method: string, engineCloneData?: unknown, payload?: unknown, hasPayload: boolean, taskId?: string, type?: string, attempt?: number, retriesRemaining?: number, trackContext?: boolean, traceContext?: { [key: string]: string } }} job
 *   The handler to call and its arguments; the task fields make the handler's context, tracked
 *   across awaits from this job on when trackContext is set.
 * @param {JobAbort} [abort] The job's abort state, behind its context's signal.
 * @param {import("node:worker_threads").MessagePort} [started] Told when the handler is called.
 * @param {import("./jobContext.mjs").ProgressSink} [progress] Where the progress the handler
 *   reports goes while it runs; the last value reported also comes back in the envelope.
 * @returns {Promise<{ ok: true, result?: unknown, progress?: string } | { ok: false, notStarted?: true, progress?: string, error: { name: string, message: string, stack?: string, properties?: Record<string, unknown> } }>}
 *   The outcome, with the last progress reported as JSON text when the handler reported any.
 */
export default async function runHandler(job, abort, started, progress) {
	/** @type {TaskContext | undefined} */
	let context;
	try {
		// A handler already resolved is called without an await: one job, one microtask less.
		const handler =
			handlers.get(job.module)?.get(job.method) ?? (await resolveHandler(job.module, job.method));
		if (abort?.aborted) {
			// Aborted by stop() before the handler was called: it must not start now.
			return { ok: false, notStarted: true, error: { name: "TaskNotStartedError", message: "" } };
		}
		// Worker mode with a timeout: tell the pool the handler starts now, so its timeout starts
		// now, not counting the start-up of a fresh worker or the first import of the module.
		started?.postMessage("started");
		// Called exactly as the original calls it: a handler counting its arguments sees 1 or 2.
		let call = () =>
			job.hasPayload ? handler(job.engineCloneData, job.payload) : handler(job.engineCloneData);
		if (job.traceContext !== undefined) {
			// Only when the scheduler's thread traces: the attempt's span is made active here too,
			// where this thread has an OpenTelemetry context manager (handlerTrace.mjs).
			const ready = traceReady();
			if (ready) {
				await ready;
			}
			const untraced = call;
			call = () => traceCall(job.traceContext, untraced);
		}
		let result;
		if (job.taskId === undefined) {
			result = await call();
		} else if (contextState.tracked || job.trackContext) {
			contextState.tracked = true;
			// The package creates the store as it loads; a worker whose handlers never loaded it
			// makes it here (the same key, so a package loaded later finds this one).
			const store = (globalThis[TASK_CONTEXT_KEY] ??= new AsyncLocalStorage());
			context = new TaskContext(job, abort ?? new JobAbort(), progress);
			result = await store.run(context, call);
		} else {
			const outer = contextState.current;
			context = new TaskContext(job, abort ?? new JobAbort(), progress);
			contextState.current = context;
			let running;
			try {
				running = call();
			} finally {
				contextState.current = outer;
			}
			result = await running;
		}
		return withProgress({ ok: true, result: toJson(result) }, context);
	} catch (err) {
		return withProgress({ ok: false, error: toErrorObject(err) }, context);
	}
}

/**
 * An envelope with the last progress the handler reported, when it reported any; the handler's
 * context passes on nothing more from now on.
 * @template {object} E
 * @param {E} envelope The envelope.
 * @param {TaskContext | undefined} context The handler's context.
 * @returns {E & { progress?: string }} The envelope.
 */
function withProgress(envelope, context) {
	const last = context?.endProgress();
	if (last !== undefined) {
		/** @type {E & { progress?: string }} */ (envelope).progress = last;
	}
	return envelope;
}

/**
 * Make a handler ready to call: its module imported and the function resolved, so that a worker
 * can time the call alone. A failure is left for the call to report.
 * @param {string} specifier The module specifier.
 * @param {string} method The method name.
 * @returns {Promise<void> | undefined} Undefined when the handler is ready already.
 */
export function prepare(specifier, method) {
	if (handlers.get(specifier)?.get(method) !== undefined) {
		return undefined;
	}
	return resolveHandler(specifier, method).then(
		() => undefined,
		() => undefined
	);
}

/**
 * Find the handler function: an export name, or Export.member for a static method.
 * @param {string} specifier The module specifier.
 * @param {string} method The method name.
 * @returns {Promise<(...args: unknown[]) => unknown>} The bound handler.
 */
async function resolveHandler(specifier, method) {
	const cached = handlers.get(specifier)?.get(method);
	if (cached) {
		return cached;
	}
	const mod = await loadModule(specifier, method);
	const [exportName, ...members] = method.split(".");
	let owner = mod;
	let value = mod[exportName] ?? /** @type {any} */ (mod.default)?.[exportName];
	if (value === undefined || value === null) {
		throw moduleHelperError("entryNotFound", specifier, method);
	}
	for (const member of members) {
		owner = value;
		value = value?.[member];
	}
	if (typeof value !== "function") {
		throw moduleHelperError("notFunction", specifier, method);
	}
	const handler = value.bind(owner);
	let methods = handlers.get(specifier);
	if (!methods) {
		methods = new Map();
		handlers.set(specifier, methods);
	}
	methods.set(method, handler);
	return handler;
}

/**
 * Import a module once per thread; a failed import is forgotten so a later task can try again.
 * @param {string} specifier The module specifier.
 * @param {string} method The method, named in the error.
 * @returns {Promise<Record<string, unknown>>} The module namespace.
 */
function loadModule(specifier, method) {
	let loading = modules.get(specifier);
	if (!loading) {
		loading = import(locateModule(specifier).url).catch(err => {
			modules.delete(specifier);
			throw moduleHelperError("moduleNotFound", specifier, method, err);
		});
		modules.set(specifier, loading);
	}
	return loading;
}

/**
 * The error the original package stores when a handler cannot be found, field for field: a
 * GeneralError from its ModuleHelper with the module and the entry, and the import's own error
 * as inner for a module that could not be loaded.
 * @param {"moduleNotFound" | "entryNotFound" | "notFunction"} key The message key.
 * @param {string} specifier The module specifier.
 * @param {string} method The method.
 * @param {unknown} [cause] The import's error.
 * @returns {object} The error object.
 */
function moduleHelperError(key, specifier, method, cause) {
	const error = {
		name: "GeneralError",
		source: "ModuleHelper",
		message: `moduleHelper.${key}`,
		properties: { module: specifier, entry: method }
	};
	if (cause !== undefined) {
		error.inner = toErrorObject(cause);
	}
	return new HandlerLookupError(error);
}

/**
 * Carries a ready error object through the handler runner's catch.
 */
class HandlerLookupError extends Error {
	/**
	 * @param {object} error The error object to report.
	 */
	constructor(error) {
		super(error.message);
		this.errorObject = error;
	}
}

/**
 * Copy a result as JSON, as storage will hold it; fail clearly when it cannot be.
 * @param {unknown} result The handler's return value.
 * @returns {unknown} The JSON copy.
 */
function toJson(result) {
	if (result === undefined) {
		return undefined;
	}
	let text;
	try {
		text = JSON.stringify(result);
	} catch (err) {
		throw namedError(
			"ResultNotSerializableError",
			`The handler's result is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`
		);
	}
	return text === undefined ? undefined : JSON.parse(text);
}

/**
 * Describe anything thrown as a plain error object.
 * @param {unknown} err What was thrown.
 * @returns {string | { name: string, message: string, stack?: string, source?: string, properties?: Record<string, unknown> }}
 *   The error (a thrown string as it is).
 */
function toErrorObject(err) {
	if (err instanceof HandlerLookupError) {
		return err.errorObject;
	}
	if (err instanceof Error) {
		const withJson = /** @type {any} */ (err);
		if (typeof withJson.toJsonObject === "function") {
			try {
				return JSON.parse(JSON.stringify(withJson.toJsonObject(true)));
			} catch {
				// fall through to the plain description
			}
		}
		return { name: err.name, message: err.message, stack: err.stack };
	}
	if (typeof err === "string") {
		// As thrown: the recorded error is what BaseError.fromError makes of a string, as the
		// original records it.
		return err;
	}
	let message;
	try {
		message = JSON.stringify(err) ?? String(err);
	} catch {
		message = String(err);
	}
	return { name: "Error", message };
}

/**
 * Create an error with a given name.
 * @param {string} name The error name.
 * @param {string} message The message.
 * @returns {Error} The error.
 */
function namedError(name, message) {
	const err = new Error(message);
	err.name = name;
	return err;
}
