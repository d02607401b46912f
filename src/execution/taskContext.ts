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

// Created as the package loads, by whichever copy loads first. The runner runs handlers in it
// only where it exists: in a worker, that is once a handler module has loaded the package, so a
// worker whose handlers never ask for their context never turns on Node's async hooks, which
// make every promise of the thread cost more on Node 20. Creating the store turns nothing on.
(globalThis as { [TASK_CONTEXT_KEY]?: AsyncLocalStorage<ITaskContext> })[TASK_CONTEXT_KEY] ??=
	new AsyncLocalStorage<ITaskContext>();

/**
 * The context of the task whose handler is running, for handler modules: the task id and type,
 * the attempt number, the retries left, and an AbortSignal that fires on the task's timeout and
 * on stop() past shutdownTimeout. Works in worker and inline mode, and whether the handler module
 * imports this package or require()s it.
 * @returns The context, anywhere in a handler's call and the work it starts; else undefined (at a
 * module's top level, in a state-change callback, on any other code path).
 */
export function getTaskContext(): ITaskContext | undefined {
	return (globalThis as { [TASK_CONTEXT_KEY]?: AsyncLocalStorage<ITaskContext> })[
		TASK_CONTEXT_KEY
	]?.getStore();
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
	const store = (globalThis as { [TASK_CONTEXT_KEY]?: AsyncLocalStorage<ITaskContext> })[
		TASK_CONTEXT_KEY
	];
	// Only inside a context is there anything to leave. run(undefined), not exit(): exit()
	// disables the store around the call, which turns Node's async hooks off and on again.
	return store?.getStore() === undefined
		? fn()
		: store.run(undefined as unknown as ITaskContext, fn);
}
