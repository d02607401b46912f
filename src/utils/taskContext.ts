// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { AsyncLocalStorage } from "node:async_hooks";
import type { ITaskContext } from "../models/ITaskContext.js";

/**
 * The key on globalThis of the one AsyncLocalStorage per thread that holds the running handler's
 * context. A handler module may load this package as its ES module build, its CommonJS build, or
 * from another copy installed elsewhere; each is a separate module instance, and the handler
 * runner (handlerWorker.mjs, plain JavaScript) is yet another. All reach the same store through
 * this registered symbol, which is why it is not a module-level variable. The runner spells the
 * same key: keep them equal.
 */
export const TASK_CONTEXT_KEY = Symbol.for(
	"@twin-fast/background-task-connector-entity-storage/taskContext"
);

/**
 * The key on globalThis of the thread's context state (CONTEXT_STATE_KEY of handlerWorker.mjs):
 * tracked once a handler asked for its context, and the context of the handler whose synchronous
 * call is on the stack while tracking is off. Keep the spelling equal to the runner's.
 * @internal
 */
export const TASK_CONTEXT_STATE_KEY = Symbol.for(
	"@twin-fast/background-task-connector-entity-storage/taskContextState"
);

/**
 * The thread's context state.
 * @internal
 */
interface IContextState {
	/**
	 * Handlers run inside the context store (async hooks on).
	 */
	tracked: boolean;

	/**
	 * The context of the handler being called, while tracking is off.
	 */
	current: ITaskContext | undefined;
}

/**
 * The context store and state of this thread, created by whichever copy of the package (or the
 * runner) comes first. Creating the store turns nothing on: Node 20's async hooks start with its
 * first run(), which the runner makes only once tracking is on.
 */
const contextGlobals = globalThis as {
	[TASK_CONTEXT_KEY]?: AsyncLocalStorage<ITaskContext>;
	[TASK_CONTEXT_STATE_KEY]?: IContextState;
};
contextGlobals[TASK_CONTEXT_KEY] ??= new AsyncLocalStorage<ITaskContext>();
contextGlobals[TASK_CONTEXT_STATE_KEY] ??= { tracked: false, current: undefined };

/**
 * The context of the task whose handler is running, for handler modules: the task id and type,
 * the attempt number, the retries left, and an AbortSignal that fires on the task's timeout and
 * on stop() past shutdownTimeout. Works in worker and inline mode, and whether the handler module
 * imports this package or require()s it.
 *
 * On Node 20, following a context across awaits (AsyncLocalStorage) makes every promise of the
 * thread slower, so a thread starts tracking it only when first asked: the first call of this
 * function in a thread turns tracking on for every handler call after it, and itself gets its
 * handler's context when made in the synchronous part of the call (before the handler's first
 * await), as a handler that reads its context first thing does. Config trackTaskContext turns
 * tracking on from the first task.
 * @returns The context, anywhere in a handler's call and the work it starts; else undefined (at a
 * module's top level, in a state-change callback, on any other code path, and after an await in
 * the first handler call of a thread that asks).
 */
export function getTaskContext(): ITaskContext | undefined {
	const tracked = contextGlobals[TASK_CONTEXT_KEY]?.getStore();
	if (tracked !== undefined) {
		return tracked;
	}
	const state = contextGlobals[TASK_CONTEXT_STATE_KEY];
	if (state === undefined) {
		return undefined;
	}
	state.tracked = true;
	return state.current;
}

/**
 * Run a function outside any task context, so that work it starts (a task run begun by a pump
 * that a handler's create() queued, inline) does not inherit the context of the handler that
 * happened to trigger it.
 * @param fn The function.
 * @returns What it returns.
 * @internal
 */
export function outsideTaskContext<T>(fn: () => T): T {
	const store = contextGlobals[TASK_CONTEXT_KEY];
	const state = contextGlobals[TASK_CONTEXT_STATE_KEY];
	// A handler's synchronous call, untracked: its context is not this work's (a handler's own
	// call inside fn puts back what it found, so restoring afterwards is the same either way).
	const current = state?.current;
	if (state !== undefined) {
		state.current = undefined;
	}
	try {
		// Only inside a tracked context is there anything to leave. run(undefined), not exit():
		// exit() disables the store around the call, which turns Node's async hooks off and on.
		return store?.getStore() === undefined
			? fn()
			: store.run(undefined as unknown as ITaskContext, fn);
	} finally {
		if (state !== undefined) {
			state.current = current;
		}
	}
}
