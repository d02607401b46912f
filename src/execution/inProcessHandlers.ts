// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import type {
	IHandlerJob,
	ISlotDepthHandler,
	ITaskExecutor,
	ProgressListener
} from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";
import { failure } from "./outcomes.js";

/**
 * The module specifier scheme of a handler that is a function of this process (the clustered
 * task scheduler's callbacks): never imported, never sent to a worker thread.
 */
const IN_PROCESS_SCHEME = "in-process:";

/**
 * A function run as a handler in this process, given the task's payload and storage id.
 */
export type InProcessHandler = (payload: unknown, taskId: string | undefined) => Promise<unknown>;

/**
 * The functions registered, by specifier.
 */
const handlers = new Map<string, InProcessHandler>();

/**
 * Register a function of this process as a handler module: registerHandler(type, specifier, any
 * method) then runs it on this thread, inline, whatever the executionMode.
 * @param handler The function.
 * @returns The module specifier to register.
 */
export function registerInProcessHandler(handler: InProcessHandler): string {
	const specifier = `${IN_PROCESS_SCHEME}${randomUUID()}`;
	handlers.set(specifier, handler);
	return specifier;
}

/**
 * Forget a function registered as a handler module.
 * @param specifier Its specifier.
 */
export function unregisterInProcessHandler(specifier: string): void {
	handlers.delete(specifier);
}

/**
 * Whether a module specifier names a function of this process.
 * @param module The specifier.
 * @returns True for an in-process handler.
 */
export function isInProcessModule(module: string): boolean {
	return module.startsWith(IN_PROCESS_SCHEME);
}

/**
 * An executor that runs in-process handlers itself, on this thread, and hands every other job to
 * the configured executor (worker pool or inline): a function cannot cross to a worker thread.
 */
export class InProcessRouting implements ITaskExecutor {
	/**
	 * Create the routing over the configured executor.
	 * @param _inner The configured executor.
	 */
	constructor(private readonly _inner: ITaskExecutor) {}

	/**
	 * Progress is reported by module handlers only.
	 * @param listener The listener.
	 */
	public setProgressListener(listener: ProgressListener): void {
		this._inner.setProgressListener(listener);
	}

	/**
	 * Run a job: an in-process handler here, anything else on the configured executor.
	 * @param job The job.
	 * @param timeoutMs The timeout, for the configured executor (an in-process handler has none).
	 * @returns The outcome.
	 */
	public run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		// Not an async function: a module handler's job costs no promise of its own here.
		return isInProcessModule(job.module) ? this.runHere(job) : this._inner.run(job, timeoutMs);
	}

	/**
	 * Run an in-process handler.
	 * @param job The job.
	 * @returns The outcome.
	 * @internal
	 */
	private async runHere(job: IHandlerJob): Promise<AttemptOutcome> {
		const handler = handlers.get(job.module);
		if (!handler) {
			return failure("Error", `The in-process handler "${job.module}" is not registered`);
		}
		try {
			return { ok: true, result: await handler(job.payload, job.taskId) };
		} catch (err) {
			return err instanceof Error ? failure(err.name, err.message) : failure("Error", String(err));
		}
	}

	/**
	 * The inner executor's depth for a module handler; 1 for a function of this process, whose
	 * calls run here at once.
	 * @param handler The handler and its type's limits.
	 * @param type The task type.
	 * @returns The runs a slot.
	 */
	public slotDepth(handler: ISlotDepthHandler, type: string): number {
		return isInProcessModule(handler.module) ? 1 : (this._inner.slotDepth?.(handler, type) ?? 1);
	}

	/**
	 * abort(id) on the connector: the configured executor's run of the task, if it has one (an
	 * in-process callback has no signal to fire).
	 * @param taskId The task id.
	 * @param reason The reason.
	 * @returns True when a run of the task was found.
	 */
	public abort(taskId: string, reason: string): boolean {
		return this._inner.abort(taskId, reason);
	}

	/**
	 * Abort the configured executor's runs.
	 * @returns How many.
	 */
	public abortAll(): number {
		return this._inner.abortAll();
	}

	/**
	 * Close the configured executor.
	 */
	public async close(): Promise<void> {
		await this._inner.close();
	}
}
