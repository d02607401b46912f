// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type {
	IBackgroundTask,
	IBackgroundTaskConnector,
	TaskStatus
} from "@twin.org/background-task-models";
import { Guards, Is } from "@twin.org/core";
import type { SortDirection } from "@twin.org/entity";
import { nameof } from "@twin.org/nameof";
import {
	assertConstructorOptions,
	assertCreateArguments,
	assertCreateManyArguments,
	assertHandlerArguments,
	assertQueryArguments,
	assertAbortArguments,
	assertRetryFailedArguments,
	assertTypeArgument
} from "./facade/argumentValidation.js";
import { ScheduleCommands } from "./facade/scheduleCommands.js";
import { assertScheduleArguments } from "./facade/scheduleValidation.js";
import { readStatistics } from "./facade/statistics.js";
import { TaskCommands } from "./facade/taskCommands.js";
import { TaskUrns } from "./facade/taskUrns.js";
import { buildConnectorParts } from "./facade/wiring.js";
import type { ITaskSource } from "./contracts/ITaskSource.js";
import type { IBackgroundTaskStatistics } from "./models/IBackgroundTaskStatistics.js";
import type { IBackgroundTaskWithProgress } from "./models/IBackgroundTaskWithProgress.js";
import type { ICreateTaskOptions } from "./models/ICreateTaskOptions.js";
import type { IEntityStorageBackgroundTaskConnectorConstructorOptions } from "./models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
import type { IHandlerOptions } from "./models/IHandlerOptions.js";
import type { IRetryFailedOptions } from "./models/IRetryFailedOptions.js";
import type { ISchedule } from "./models/ISchedule.js";
import type { IScheduleOptions } from "./models/IScheduleOptions.js";
import type { Scheduler } from "./scheduling/scheduler.js";

/**
 * Class for performing background task operations in entity storage: a drop-in replacement for
 * the original connector that runs tasks in a reused worker pool, many at once.
 *
 * Data flows one way: this facade validates input and maps ids, the store persists, the
 * scheduler decides what runs when, the executor runs handlers, the store records, and the
 * state-change callback hears about it.
 */
export class EntityStorageBackgroundTaskConnector implements IBackgroundTaskConnector {
	/**
	 * The namespace supported by the background task connector.
	 */
	public static readonly NAMESPACE: string = "entity-storage";

	/**
	 * Runtime name for the class.
	 */
	public readonly CLASS_NAME: string = nameof<EntityStorageBackgroundTaskConnector>();

	/**
	 * Where tasks live: any entity-storage connector, or the native PostgreSQL backend.
	 * @internal
	 */
	private readonly _source: ITaskSource;

	/**
	 * The scheduler.
	 * @internal
	 */
	private readonly _scheduler: Scheduler;

	/**
	 * The operations behind the public methods, on valid arguments and storage ids.
	 * @internal
	 */
	private readonly _tasks: TaskCommands;

	/**
	 * The recurring tasks' schedules and the keeper that fires them.
	 * @internal
	 */
	private readonly _schedules: ScheduleCommands;

	/**
	 * The mapping between the task URNs of the public methods and the storage ids.
	 * @internal
	 */
	private readonly _urns: TaskUrns;

	/**
	 * Create a new instance of EntityStorageBackgroundTaskConnector.
	 * @param options The options for the connector.
	 */
	constructor(options?: IEntityStorageBackgroundTaskConnectorConstructorOptions) {
		assertConstructorOptions(this.CLASS_NAME, options);
		const parts = buildConnectorParts(
			this.CLASS_NAME,
			EntityStorageBackgroundTaskConnector.NAMESPACE,
			options
		);
		this._source = parts.source;
		this._scheduler = parts.scheduler;
		this._tasks = new TaskCommands(parts);
		this._schedules = new ScheduleCommands(parts);
		this._urns = new TaskUrns(this.CLASS_NAME, EntityStorageBackgroundTaskConnector.NAMESPACE);
	}

	/**
	 * The component needs to be started when the node is initialized: sweeps expired retained
	 * tasks, recovers this thread's tasks left processing by a crash and starts processing.
	 * @param nodeIdentity The identity of the node starting the component.
	 * @param nodeLoggingComponentType The node logging component type.
	 * @returns Nothing.
	 */
	public async start(nodeIdentity: string, nodeLoggingComponentType?: string): Promise<void> {
		await this._scheduler.start();
		// Not when a stop() came while the scheduler started: the keeper's timers would outlive it.
		if (this._scheduler.started) {
			this._schedules.keeper.start();
		}
	}

	/**
	 * The component needs to be stopped when the node is closed: starts no new task, waits up to
	 * shutdownTimeout for running ones, then terminates the workers.
	 * @param nodeIdentity The identity of the node stopping the component.
	 * @param nodeLoggingComponentType The node logging component type.
	 * @returns Nothing.
	 */
	public async stop(nodeIdentity: string, nodeLoggingComponentType?: string): Promise<void> {
		// Both at once: the keeper fires nothing from now on, and the scheduler begins its stop in
		// this turn, so a start() called meanwhile waits for it.
		const keeperStopped = this._schedules.keeper.stop();
		await this._scheduler.stop();
		await keeperStopped;
	}

	/**
	 * Register a handler for a task.
	 * @param taskType The type of the task the handler can process.
	 * @param module The module the handler is in: a file URL, an absolute path or a package name.
	 * @param method The method in the module to execute, or Export.member.
	 * @param stateChangeCallback The callback to execute when the task state is updated.
	 * @param options Per-type concurrency and timeout, overriding the config.
	 * @returns Nothing.
	 */
	public async registerHandler<T, U>(
		taskType: string,
		module: string,
		method: string,
		stateChangeCallback?: (task: IBackgroundTask<T, U>) => Promise<void>,
		options?: IHandlerOptions
	): Promise<void> {
		assertHandlerArguments(this.CLASS_NAME, taskType, module, method, stateChangeCallback, options);
		await this._tasks.register(taskType, module, method, stateChangeCallback, options);
	}

	/**
	 * Unregister a handler for a task.
	 * @param taskType The type of the task handler to remove.
	 * @returns Nothing.
	 */
	public async unregisterHandler(taskType: string): Promise<void> {
		Guards.stringValue(this.CLASS_NAME, nameof(taskType), taskType);
		this._scheduler.unregister(taskType);
	}

	/**
	 * Create a new task.
	 * @param type The type of the task.
	 * @param payload The payload for the task, any JSON value.
	 * @param options Additional options for the task: the original's retryCount, retryInterval and
	 * retainFor, and this package's queue options (ICreateTaskOptions).
	 * @returns The id of the created task, or with dedupKey, of the task of the same type and key
	 * that is still pending or processing.
	 */
	public async create<T>(type: string, payload?: T, options?: ICreateTaskOptions): Promise<string> {
		assertCreateArguments(this.CLASS_NAME, type, payload, options);
		return this._urns.urnOf(await this._tasks.create(type, payload, options));
	}

	/**
	 * Create many tasks of one type with the same options, in one storage round trip per batch
	 * where the backend allows it (one INSERT on the native PostgreSQL backend).
	 * @param type The type of the tasks.
	 * @param payloads The payloads, one task each, any JSON values.
	 * @param options The options of every task, as create's; dedupKey is refused.
	 * @returns The ids of the created tasks, in the order of the payloads.
	 */
	public async createMany<T>(
		type: string,
		payloads: T[],
		options?: Omit<ICreateTaskOptions, "dedupKey">
	): Promise<string[]> {
		assertCreateManyArguments(this.CLASS_NAME, type, payloads, options);
		const ids = await this._tasks.createMany(type, payloads, options);
		return ids.map(id => this._urns.urnOf(id));
	}

	/**
	 * Pause a type: no task of it starts from now on, while running ones finish and are recorded
	 * and create() still stores new ones. On the native PostgreSQL backend the pause is stored and
	 * every node honours it within milliseconds; over entity storage it holds for this instance
	 * only. A type may be paused before its handler is registered; pausing it again does nothing.
	 * @param type The task type.
	 * @returns Nothing.
	 */
	public async pause(type: string): Promise<void> {
		assertTypeArgument(this.CLASS_NAME, "pause", type);
		await this._tasks.pause(type);
	}

	/**
	 * Resume a paused type: its pending tasks start at once (on every node on the native
	 * PostgreSQL backend). Resuming a type that is not paused does nothing.
	 * @param type The task type.
	 * @returns Nothing.
	 */
	public async resume(type: string): Promise<void> {
		assertTypeArgument(this.CLASS_NAME, "resume", type);
		await this._tasks.resume(type);
	}

	/**
	 * Create or update (by name) a recurring task: a task of schedule.type at each slot, every
	 * schedule.every ms or at each time schedule.cron matches, slots counted from the previous
	 * slot (no drift). On the native PostgreSQL backend the schedule is stored for every node and
	 * each slot creates exactly one task across them; over entity storage it is this instance's
	 * (README, "Recurring tasks"). Declaring the same timing again keeps the slots.
	 * @param name The schedule's name.
	 * @param schedule The type, payload, timing, create options and catch-up policy.
	 * @returns Nothing.
	 */
	public async schedule(name: string, schedule: IScheduleOptions): Promise<void> {
		assertScheduleArguments(this.CLASS_NAME, name, schedule);
		await this._schedules.schedule(name, schedule);
	}

	/**
	 * Remove a recurring task's schedule; the tasks it created are left as they are.
	 * @param name The schedule's name.
	 * @returns True when the schedule existed.
	 */
	public async unschedule(name: string): Promise<boolean> {
		Guards.stringValue(this.CLASS_NAME, nameof(name), name);
		return this._schedules.unschedule(name);
	}

	/**
	 * The recurring tasks' schedules, by name, each with its next and last slot.
	 * @returns The schedules.
	 */
	public async getSchedules(): Promise<ISchedule[]> {
		return this._schedules.list();
	}

	/**
	 * Counts of tasks per type and status, the paused types, and this node's own figures: tasks
	 * running, finished in the last minute, and the start latency (due to handler start)
	 * percentiles of the last minute.
	 * @param taskType Only this type, when set.
	 * @returns The statistics.
	 */
	public async getStatistics(taskType?: string): Promise<IBackgroundTaskStatistics> {
		if (!Is.undefined(taskType)) {
			Guards.stringValue(this.CLASS_NAME, nameof(taskType), taskType);
		}
		return readStatistics(this._source, this._scheduler, taskType);
	}

	/**
	 * Get the task details.
	 * @param taskId The id of the task to get the details for (the URN create() returned).
	 * @returns The details of the task, undefined when unknown; its id is the plain storage id, as
	 * the original returns it, and it has the progress its handler reported last, if any.
	 */
	public async get<T, U>(taskId: string): Promise<IBackgroundTaskWithProgress<T, U> | undefined> {
		return this._tasks.get<T, U>(this._urns.storageIdOf(nameof(taskId), taskId));
	}

	/**
	 * Retry a task now: a pending task waiting for a retry becomes due at once, a failed task gets
	 * one more attempt.
	 * @param taskId The id of the task to retry.
	 * @returns Nothing.
	 */
	public async retry(taskId: string): Promise<void> {
		await this._tasks.retry(this._urns.storageIdOf(nameof(taskId), taskId));
	}

	/**
	 * Put failed tasks back to pending, due now, each as retry() puts back one (one more attempt,
	 * its own retainFor back), oldest failure first: one statement on the native PostgreSQL
	 * backend. A failed task whose dedupKey an active task holds stays failed, as with retry().
	 * @param type Only tasks of this type, when set.
	 * @param options At most options.limit tasks, when set.
	 * @returns How many tasks were put back.
	 */
	public async retryFailed(type?: string, options?: IRetryFailedOptions): Promise<number> {
		assertRetryFailedArguments(this.CLASS_NAME, type, options);
		return this._tasks.retryFailed(type, options?.limit);
	}

	/**
	 * Remove a task ignoring any retain until date; a running task is not written back.
	 * @param taskId The id of the task to remove.
	 * @returns Nothing.
	 */
	public async remove(taskId: string): Promise<void> {
		await this._tasks.remove(this._urns.storageIdOf(nameof(taskId), taskId));
	}

	/**
	 * Cancel a task, will only be actioned if the task is currently pending.
	 * @param taskId The id of the task to cancel.
	 * @returns Nothing.
	 */
	public async cancel(taskId: string): Promise<void> {
		await this._tasks.cancel(this._urns.storageIdOf(nameof(taskId), taskId));
	}

	/**
	 * Stop a task. A running task's handler sees its context's signal fire (the owning node's, on
	 * the native PostgreSQL backend); when the handler ends, or abortGrace later (worker mode: its
	 * worker terminated; inline: the attempt abandoned), the task is recorded cancelled, with an
	 * error named "AbortError" whose message is the reason, and is not retried. A pending task is
	 * cancelled as cancel() does. A final or unknown task is left as it is (no error, as cancel()).
	 * Over entity storage only this instance's runs can be stopped.
	 * @param taskId The id of the task to stop.
	 * @param reason Why, the signal's and the error's message (default "The task was aborted").
	 * @returns Nothing.
	 */
	public async abort(taskId: string, reason?: string): Promise<void> {
		assertAbortArguments(this.CLASS_NAME, reason);
		await this._tasks.abort(this._urns.storageIdOf(nameof(taskId), taskId), reason);
	}

	/**
	 * Move the pending tasks of a departed instance (another config.instanceId on the same store)
	 * to this instance, and those it left processing when it stopped or died, which run again
	 * here. Call it only once that instance is gone for good: a task it is still running would run
	 * twice. Does nothing on the native PostgreSQL backend, whose nodes take over each other's
	 * tasks by their leases.
	 * @param fromInstanceId The departed instance's id.
	 * @returns How many tasks were moved.
	 */
	public async adoptTasks(fromInstanceId: string): Promise<number> {
		Guards.stringValue(this.CLASS_NAME, nameof(fromInstanceId), fromInstanceId);
		return this._tasks.adopt(fromInstanceId);
	}

	/**
	 * Get a list of tasks.
	 * @param taskType The type of the task to get.
	 * @param taskStatus The status of the task to get.
	 * @param sortProperty The property to sort by, defaults to dateCreated.
	 * @param sortDirection The order to sort by, defaults to ascending.
	 * @param cursor The cursor to get the next page of tasks.
	 * @param pageSize The maximum number of entities in a page.
	 * @returns The list of tasks, each with the progress its handler reported last, if any.
	 */
	public async query(
		taskType?: string,
		taskStatus?: TaskStatus,
		sortProperty?: "dateCreated" | "dateModified" | "dateCompleted" | "status",
		sortDirection?: SortDirection,
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: IBackgroundTaskWithProgress[]; cursor?: string }> {
		assertQueryArguments(
			this.CLASS_NAME,
			taskType,
			taskStatus,
			sortProperty,
			sortDirection,
			cursor,
			pageSize
		);
		return this._tasks.query(taskType, taskStatus, sortProperty, sortDirection, cursor, pageSize);
	}
}
