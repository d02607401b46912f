// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { SortDirection } from "@twin.org/entity";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { isFinal } from "../domain/rules.js";
import { toTaskModel } from "../domain/taskModel.js";
import { isInProcessModule } from "../execution/inProcessHandlers.js";
import { moduleExists } from "../execution/outcomes.js";
import type { IBackgroundTaskWithProgress } from "../models/IBackgroundTaskWithProgress.js";
import type { ICreateTaskOptions } from "../models/ICreateTaskOptions.js";
import type { IHandlerOptions } from "../models/IHandlerOptions.js";
import { handlerSettings } from "./handlerSettings.js";
import { newTask } from "./newTask.js";
import { traceContextAtCreate, type TraceCarrier } from "../telemetry/taskTelemetry.js";
import type { IConnectorParts } from "./wiring.js";

/**
 * How many times abort() reads a task that moves between pending and processing under it before
 * it gives up, and the step of its waits between two reads of a task processing but not in this
 * instance's runner (a claim finishing, or an outcome being recorded): 5, 10, ... 100 ms, about
 * a second in all.
 */
const ABORT_LOOKS = 20;
const ABORT_LOOK_PAUSE_MS = 5;

/**
 * The reason of an abort() called without one.
 */
const DEFAULT_ABORT_REASON = "The task was aborted";

/**
 * The connector's operations on valid arguments and storage ids: each writes through the task
 * source and tells the scheduler what changed. The facade validates and maps URNs around them.
 */
export class TaskCommands {
	/**
	 * Create the commands over a connector's parts.
	 * @param parts The config, log, source and scheduler.
	 */
	constructor(private readonly parts: IConnectorParts) {}

	/**
	 * Register a handler. Registered even when the module cannot be found now, as the original
	 * does (it may be installed or generated later, or resolve only where the worker runs): a
	 * warning names it, and its tasks fail when they run, with an error naming the module.
	 * @param taskType The task type.
	 * @param module The module.
	 * @param method The method.
	 * @param stateChangeCallback The callback.
	 * @param options The per-type options.
	 */
	public async register<T, U>(
		taskType: string,
		module: string,
		method: string,
		stateChangeCallback: ((task: IBackgroundTask<T, U>) => Promise<void>) | undefined,
		options: IHandlerOptions | undefined
	): Promise<void> {
		if (!isInProcessModule(module) && !(await moduleExists(module))) {
			this.parts.log.log("warn", "moduleNotFound", { type: taskType, module, cwd: process.cwd() });
		}
		this.parts.scheduler.register(
			taskType,
			handlerSettings(this.parts.config, module, method, stateChangeCallback, options)
		);
	}

	/**
	 * Create a task and queue it.
	 * @param type The type.
	 * @param payload The payload.
	 * @param options The options.
	 * @returns The task's storage id, or with dedupKey, that of the active task standing for it.
	 */
	public async create(
		type: string,
		payload: unknown,
		options: ICreateTaskOptions | undefined
	): Promise<string> {
		const task = newTask(this.parts.config, type, payload, options, Date.now());
		const tracing = traced([task]);
		if (tracing) {
			await tracing;
		}
		const id = await this.parts.source.insert(task);
		if (id !== task.id) {
			// Deduplicated: the active task with the same type and key stands for this one.
			return id;
		}
		if (!this.parts.scheduler.notifyDue(task)) {
			// As the original, which reports it as soon as it looks for the type's next task.
			this.parts.log.log("error", "noHandler", { id: task.id, type });
		}
		return task.id;
	}

	/**
	 * Create tasks of one type and queue them.
	 * @param type The type.
	 * @param payloads The payloads, one task each.
	 * @param options The options of every task.
	 * @returns The tasks' storage ids, in the order of the payloads.
	 */
	public async createMany(
		type: string,
		payloads: unknown[],
		options: ICreateTaskOptions | undefined
	): Promise<string[]> {
		if (payloads.length === 0) {
			return [];
		}
		const now = Date.now();
		const tasks = payloads.map(payload => newTask(this.parts.config, type, payload, options, now));
		const tracing = traced(tasks);
		if (tracing) {
			await tracing;
		}
		await this.parts.source.insertMany(tasks);
		let handled = true;
		for (const task of tasks) {
			handled = this.parts.scheduler.notifyDue(task) && handled;
		}
		if (!handled) {
			this.parts.log.log("error", "noHandler", { id: tasks[0].id, type });
		}
		return tasks.map(task => task.id);
	}

	/**
	 * Read a task.
	 * @param id The storage id.
	 * @returns The task as the original returns it, undefined when unknown.
	 */
	public async get<T, U>(id: string): Promise<IBackgroundTaskWithProgress<T, U> | undefined> {
		const task = await this.parts.source.get(id);
		return task ? toTaskModel<T, U>(task) : undefined;
	}

	/**
	 * Make a task due now, and queue it if it changed.
	 * @param id The storage id.
	 */
	public async retry(id: string): Promise<void> {
		const task = await this.parts.source.retry(id, Date.now());
		if (task) {
			this.parts.scheduler.notifyDue(task);
		}
	}

	/**
	 * Put failed tasks back to pending, due now, and queue them, as retry does for one.
	 * @param type Only this type, when set.
	 * @param limit At most this many, when set.
	 * @returns How many were put back.
	 */
	public async retryFailed(type: string | undefined, limit: number | undefined): Promise<number> {
		const tasks = await this.parts.source.retryFailed(type, limit, Date.now());
		for (const task of tasks) {
			this.parts.scheduler.notifyDue(task);
		}
		return tasks.length;
	}

	/**
	 * Remove a task and drop it from the queues.
	 * @param id The storage id.
	 */
	public async remove(id: string): Promise<void> {
		await this.parts.source.remove(id);
		this.parts.scheduler.notifyGone(id);
	}

	/**
	 * Cancel a pending task and drop it from the queues.
	 * @param id The storage id.
	 */
	public async cancel(id: string): Promise<void> {
		const task = await this.parts.source.cancel(id, Date.now());
		if (task) {
			this.parts.scheduler.notifyGone(id);
		}
	}

	/**
	 * Stop a task: a run claimed by this instance ends cancelled with the reason (the runner), a
	 * pending task is cancelled as cancel() does, a processing task elsewhere is asked of its owner
	 * through a shared database (the native backend). A final or unknown task is left as it is.
	 * Over entity storage, a task processing but not run by this instance cannot be reached: it is
	 * left as it is, with a warning.
	 * @param id The storage id.
	 * @param reason The reason, DEFAULT_ABORT_REASON when not given.
	 */
	public async abort(id: string, reason: string = DEFAULT_ABORT_REASON): Promise<void> {
		const { source, scheduler, log } = this.parts;
		for (let look = 1; look <= ABORT_LOOKS; look++) {
			if (scheduler.abortRunning(id, reason)) {
				return;
			}
			const task = await source.get(id);
			if (!task || isFinal(task.status)) {
				return;
			}
			if (task.status === TaskStatus.Pending) {
				if (await source.cancel(id, Date.now())) {
					scheduler.notifyGone(id);
					return;
				}
			} else if (scheduler.abortRunning(id, reason)) {
				return;
			} else if (source.requestAbort) {
				if (await source.requestAbort(id, reason)) {
					return;
				}
			} else {
				// A claim of this instance may be finishing, or a run's outcome being recorded: look
				// again shortly.
				await new Promise(resolve => setTimeout(resolve, ABORT_LOOK_PAUSE_MS * look));
			}
			// Otherwise it moved between pending and processing since the read: look again.
		}
		log.log("warn", "abortNotRunningHere", { id });
	}

	/**
	 * Pause a type: stored by the source (on the native backend for every node, which it
	 * notifies), then the scheduler starts none of its tasks.
	 * @param type The task type.
	 */
	public async pause(type: string): Promise<void> {
		await this.parts.source.pause(type);
		this.parts.scheduler.pause(type);
	}

	/**
	 * Resume a paused type: stored by the source (notifying every node on the native backend),
	 * then the scheduler fetches its tasks at once.
	 * @param type The task type.
	 */
	public async resume(type: string): Promise<void> {
		await this.parts.source.resume(type);
		this.parts.scheduler.resume(type);
	}

	/**
	 * Move a departed instance's tasks to this one and queue them.
	 * @param fromInstanceId The departed instance's id.
	 * @returns How many tasks were moved (none from this instance itself).
	 */
	public async adopt(fromInstanceId: string): Promise<number> {
		const { config, source, scheduler } = this.parts;
		if (fromInstanceId === config.threadId) {
			return 0;
		}
		const tasks = await source.adopt(fromInstanceId, config.threadId, Date.now());
		for (const task of tasks) {
			scheduler.notifyDue(task);
		}
		return tasks.length;
	}

	/**
	 * One page of tasks, as the original returns them.
	 * @param taskType The type, when set.
	 * @param taskStatus The status, when set.
	 * @param sortProperty The property to sort by, dateCreated when not set.
	 * @param sortDirection The order, ascending when not set.
	 * @param cursor The cursor of the page.
	 * @param pageSize The most tasks in the page.
	 * @returns The page.
	 */
	public async query(
		taskType: string | undefined,
		taskStatus: TaskStatus | undefined,
		sortProperty: "dateCreated" | "dateModified" | "dateCompleted" | "status" | undefined,
		sortDirection: SortDirection | undefined,
		cursor: string | undefined,
		pageSize: number | undefined
	): Promise<{ entities: IBackgroundTaskWithProgress[]; cursor?: string }> {
		const page = await this.parts.source.query({
			type: taskType,
			status: taskStatus,
			sortProperty: sortProperty ?? "dateCreated",
			sortDirection: sortDirection ?? SortDirection.Ascending,
			cursor,
			pageSize
		});
		return { entities: page.entities.map(t => toTaskModel(t)), cursor: page.cursor };
	}
}

/**
 * Give new tasks the trace context of the span active now, when an OpenTelemetry tracer provider
 * is registered and a span is active (one span stands for a whole createMany). Without a provider
 * it is one read and returns undefined: no promise, nothing to wait for.
 * @param tasks The new tasks.
 * @returns A promise only while the API is first imported.
 */
function traced(tasks: BackgroundTask[]): Promise<void> | undefined {
	const traceContext = traceContextAtCreate();
	if (traceContext instanceof Promise) {
		return traceContext.then(loaded => setTraceContext(tasks, loaded));
	}
	setTraceContext(tasks, traceContext);
	return undefined;
}

/**
 * Set a trace context on new tasks, when there is one.
 * @param tasks The tasks.
 * @param traceContext The trace context.
 */
function setTraceContext(tasks: BackgroundTask[], traceContext: TraceCarrier | undefined): void {
	if (traceContext !== undefined) {
		for (const task of tasks) {
			task.traceContext = { ...traceContext };
		}
	}
}
