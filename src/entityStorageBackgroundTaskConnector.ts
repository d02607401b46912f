// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import {
	TaskStatus,
	type IBackgroundTask,
	type IBackgroundTaskConnector
} from "@twin.org/background-task-models";
import {
	ComponentFactory,
	GeneralError,
	GuardError,
	Guards,
	Is,
	Urn,
	Validation,
	type IValidationFailure
} from "@twin.org/core";
import { SortDirection } from "@twin.org/entity";
import {
	EntityStorageConnectorFactory,
	type IEntityStorageConnector
} from "@twin.org/entity-storage-models";
import {
	LoggingConnectorFactory,
	type ILoggingComponent,
	type ILoggingConnector
} from "@twin.org/logging-models";
import { nameof } from "@twin.org/nameof";
import type { BackgroundTask } from "./domain/backgroundTask.js";
import { InlineExecutor } from "./execution/inlineExecutor.js";
import { moduleExists } from "./execution/outcomes.js";
import { WorkerPoolExecutor } from "./execution/workerPoolExecutor.js";
import { ExecutionMode } from "./models/executionMode.js";
import type { IEntityStorageBackgroundTaskConnectorConstructorOptions } from "./models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
import type {
	IBackgroundTaskStatistics,
	ITaskStatusCounts
} from "./models/IBackgroundTaskStatistics.js";
import type { ICreateTaskOptions } from "./models/ICreateTaskOptions.js";
import type { IHandlerOptions } from "./models/IHandlerOptions.js";
import { RetryBackoff } from "./domain/retry.js";
import { iso } from "./domain/rules.js";
import { Scheduler } from "./scheduling/scheduler.js";
import { EntityStorageTaskSource } from "./store/entityStorage/entityStorageTaskSource.js";
import type { ITaskSource } from "./contracts/ITaskSource.js";
import { PostgresTaskSource } from "./store/postgresql/postgresTaskSource.js";
import { jsonProblem } from "./domain/jsonValue.js";
import {
	MAX_RETAIN_MS,
	MAX_TIMER_MS,
	optionalInteger,
	resolveConfig,
	validateConfig,
	type IResolvedConfig
} from "./config/settings.js";
import { TaskLog } from "./utils/taskLog.js";
import { fromTaskUrn, newTaskId, toTaskModel, toTaskUrn } from "./domain/taskModel.js";

/**
 * The most tasks getStatistics() reads over entity storage (a bounded scan).
 */
const STATISTICS_SCAN_LIMIT = 100_000;

/**
 * The priority range: a PostgreSQL INTEGER.
 */
const MIN_PRIORITY = -2_147_483_648;
const MAX_PRIORITY = 2_147_483_647;

/**
 * When a task created with startAfter first falls due, epoch ms.
 * @param startAfter Milliseconds from now (an integer >= 0), or an ISO 8601 date.
 * @param nowMs The current time.
 * @returns The time, or undefined when startAfter is not valid.
 */
function startAfterMs(startAfter: unknown, nowMs: number = Date.now()): number | undefined {
	if (Is.integer(startAfter)) {
		return startAfter >= 0 && startAfter <= MAX_RETAIN_MS ? nowMs + startAfter : undefined;
	}
	if (Is.string(startAfter) && (Is.dateTimeString(startAfter) || Is.dateString(startAfter))) {
		const at = Date.parse(startAfter);
		return Number.isFinite(at) ? at : undefined;
	}
	return undefined;
}

/**
 * The properties query() may sort by.
 */
const SORT_PROPERTIES = ["dateCreated", "dateModified", "dateCompleted", "status"] as const;

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
	 * The resolved configuration.
	 * @internal
	 */
	private readonly _config: IResolvedConfig;

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
	 * The log.
	 * @internal
	 */
	private readonly _log: TaskLog;

	/**
	 * Create a new instance of EntityStorageBackgroundTaskConnector.
	 * @param options The options for the connector.
	 */
	constructor(options?: IEntityStorageBackgroundTaskConnectorConstructorOptions) {
		const failures: IValidationFailure[] = [];
		if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
			for (const key of [
				"backgroundTaskEntityStorageType",
				"loggingComponentType",
				"loggingConnectorType"
			] as const) {
				if (!Is.undefined(options[key])) {
					Validation.stringValue(`options.${key}`, options[key], failures);
				}
			}
			failures.push(...validateConfig(options.config));
		}
		Validation.asValidationError(this.CLASS_NAME, nameof(options), failures);
		this._config = resolveConfig(EntityStorageBackgroundTaskConnector.NAMESPACE, options?.config);

		// As the original: the logging connector named loggingConnectorType (default "logging") in
		// LoggingConnectorFactory, which is what a TWIN engine passes; absent means silent. A logging
		// component may be named instead with loggingComponentType.
		const logTarget = Is.stringValue(options?.loggingComponentType)
			? ComponentFactory.getIfExists<ILoggingComponent>(options.loggingComponentType)
			: LoggingConnectorFactory.getIfExists<ILoggingConnector>(
					options?.loggingConnectorType ?? "logging"
				);
		const log = new TaskLog(this.CLASS_NAME, logTarget);
		this._log = log;

		this._source = this._config.postgresql
			? new PostgresTaskSource(
					this._config.postgresql,
					new TaskLog(PostgresTaskSource.CLASS_NAME, logTarget)
				)
			: new EntityStorageTaskSource(
					EntityStorageBackgroundTaskConnector.registeredStorage(
						this.CLASS_NAME,
						options?.backgroundTaskEntityStorageType ?? "background-task"
					),
					log
				);
		this._scheduler = new Scheduler(
			this._source,
			() =>
				this._config.executionMode === ExecutionMode.Inline
					? new InlineExecutor()
					: new WorkerPoolExecutor(this._config),
			this._config,
			log
		);
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
	}

	/**
	 * The component needs to be stopped when the node is closed: starts no new task, waits up to
	 * shutdownTimeout for running ones, then terminates the workers.
	 * @param nodeIdentity The identity of the node stopping the component.
	 * @param nodeLoggingComponentType The node logging component type.
	 * @returns Nothing.
	 */
	public async stop(nodeIdentity: string, nodeLoggingComponentType?: string): Promise<void> {
		await this._scheduler.stop();
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
		const failures: IValidationFailure[] = [];
		Validation.stringValue(nameof(taskType), taskType, failures);
		Validation.stringValue(nameof(module), module, failures);
		Validation.stringValue(nameof(method), method, failures);
		if (!Is.undefined(stateChangeCallback) && !Is.function(stateChangeCallback)) {
			failures.push({ property: nameof(stateChangeCallback), reason: "validation.beFunction" });
		}
		if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
			optionalInteger("options.concurrency", options.concurrency, failures, 1);
			optionalInteger("options.timeout", options.timeout, failures, 1, MAX_TIMER_MS);
			if (!Is.undefined(options.serial)) {
				Validation.boolean("options.serial", options.serial, failures);
			}
			if (
				!Is.undefined(options.rateLimit) &&
				Validation.object("options.rateLimit", options.rateLimit, failures)
			) {
				optionalInteger("options.rateLimit.max", options.rateLimit.max ?? null, failures, 1);
				optionalInteger(
					"options.rateLimit.per",
					options.rateLimit.per ?? null,
					failures,
					1,
					MAX_TIMER_MS
				);
			}
			if (options.serial === true && Is.integer(options.concurrency) && options.concurrency > 1) {
				// A serial type runs one task at a time: a larger concurrency is a contradiction.
				Validation.integer("options.concurrency", options.concurrency, failures, undefined, {
					minValue: 1,
					maxValue: 1
				});
			}
		}
		Validation.asValidationError(this.CLASS_NAME, "registerHandler", failures);

		// Registered even when the module cannot be found now, as the original does (it may be
		// installed or generated later, or resolve only where the worker runs): a warning names it,
		// and its tasks fail when they run, with an error naming the module.
		if (!(await moduleExists(module))) {
			this._log.log("warn", "moduleNotFound", { type: taskType, module, cwd: process.cwd() });
		}
		this._scheduler.register(taskType, {
			module,
			method,
			stateChangeCallback: stateChangeCallback as (task: IBackgroundTask) => Promise<void>,
			concurrency: options?.serial ? 1 : (options?.concurrency ?? this._config.concurrency),
			timeout: options?.timeout ?? this._config.taskTimeout,
			serial: options?.serial ?? false,
			rateLimit: options?.rateLimit
				? { max: options.rateLimit.max, per: options.rateLimit.per }
				: undefined
		});
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
		const failures: IValidationFailure[] = [];
		Validation.stringValue(nameof(type), type, failures);
		this.validateCreateOptions(options, failures, false);
		const payloadProblem = Is.empty(payload) ? undefined : jsonProblem(payload, nameof(payload));
		if (payloadProblem) {
			failures.push({
				property: nameof(payload),
				reason: "validation.beJson",
				properties: { problem: payloadProblem }
			});
		}
		// "options", as the original names the object of create's validation error.
		Validation.asValidationError(this.CLASS_NAME, nameof(options), failures);

		const task = this.newTask(type, payload, options, Date.now());
		const id = await this._source.insert(task);
		if (id !== task.id) {
			// Deduplicated: the active task with the same type and key stands for this one.
			return toTaskUrn(EntityStorageBackgroundTaskConnector.NAMESPACE, id);
		}
		if (!this._scheduler.notifyDue(task)) {
			// As the original, which reports it as soon as it looks for the type's next task.
			this._log.log("error", "noHandler", { id: task.id, type });
		}
		return toTaskUrn(EntityStorageBackgroundTaskConnector.NAMESPACE, task.id);
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
		const failures: IValidationFailure[] = [];
		Validation.stringValue(nameof(type), type, failures);
		this.validateCreateOptions(options, failures, true);
		if (!Is.array(payloads)) {
			failures.push({ property: nameof(payloads), reason: "validation.beJsonArray" });
		} else {
			for (let i = 0; i < payloads.length; i++) {
				const problem = Is.empty(payloads[i])
					? undefined
					: jsonProblem(payloads[i], `${nameof(payloads)}[${i}]`);
				if (problem) {
					failures.push({
						property: `${nameof(payloads)}[${i}]`,
						reason: "validation.beJson",
						properties: { problem }
					});
					break;
				}
			}
		}
		Validation.asValidationError(this.CLASS_NAME, "createMany", failures);
		if (payloads.length === 0) {
			return [];
		}
		const now = Date.now();
		const tasks = payloads.map(payload => this.newTask(type, payload, options, now));
		await this._source.insertMany(tasks);
		let handled = true;
		for (const task of tasks) {
			handled = this._scheduler.notifyDue(task) && handled;
		}
		if (!handled) {
			this._log.log("error", "noHandler", { id: tasks[0].id, type });
		}
		return tasks.map(task => toTaskUrn(EntityStorageBackgroundTaskConnector.NAMESPACE, task.id));
	}

	/**
	 * Counts of tasks per type and status, and this node's own figures: tasks running, finished in
	 * the last minute, and the start latency (due to handler start) percentiles of the last minute.
	 * @param taskType Only this type, when set.
	 * @returns The statistics.
	 */
	public async getStatistics(taskType?: string): Promise<IBackgroundTaskStatistics> {
		if (!Is.undefined(taskType)) {
			Guards.stringValue(this.CLASS_NAME, nameof(taskType), taskType);
		}
		const { counts, complete } = await this._source.counts(taskType, STATISTICS_SCAN_LIMIT);
		const types: { [type: string]: ITaskStatusCounts } = {};
		for (const [type, byStatus] of Object.entries(counts)) {
			types[type] = {
				pending: byStatus[TaskStatus.Pending] ?? 0,
				processing: byStatus[TaskStatus.Processing] ?? 0,
				success: byStatus[TaskStatus.Success] ?? 0,
				failed: byStatus[TaskStatus.Failed] ?? 0,
				cancelled: byStatus[TaskStatus.Cancelled] ?? 0
			};
		}
		return { types, complete, ...this._scheduler.statistics() };
	}

	/**
	 * Get the task details.
	 * @param taskId The id of the task to get the details for (the URN create() returned).
	 * @returns The details of the task, undefined when unknown; its id is the plain storage id, as
	 * the original returns it.
	 */
	public async get<T, U>(taskId: string): Promise<IBackgroundTask<T, U> | undefined> {
		const task = await this._source.get(this.storageId(nameof(taskId), taskId));
		return task ? toTaskModel<T, U>(task) : undefined;
	}

	/**
	 * Retry a task now: a pending task waiting for a retry becomes due at once, a failed task gets
	 * one more attempt.
	 * @param taskId The id of the task to retry.
	 * @returns Nothing.
	 */
	public async retry(taskId: string): Promise<void> {
		const id = this.storageId(nameof(taskId), taskId);
		const task = await this._source.retry(id, Date.now());
		if (task) {
			this._scheduler.notifyDue(task);
		}
	}

	/**
	 * Remove a task ignoring any retain until date; a running task is not written back.
	 * @param taskId The id of the task to remove.
	 * @returns Nothing.
	 */
	public async remove(taskId: string): Promise<void> {
		const id = this.storageId(nameof(taskId), taskId);
		await this._source.remove(id);
		this._scheduler.notifyGone(id);
	}

	/**
	 * Cancel a task, will only be actioned if the task is currently pending.
	 * @param taskId The id of the task to cancel.
	 * @returns Nothing.
	 */
	public async cancel(taskId: string): Promise<void> {
		const id = this.storageId(nameof(taskId), taskId);
		const task = await this._source.cancel(id, Date.now());
		if (task) {
			this._scheduler.notifyGone(id);
		}
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
		if (fromInstanceId === this._config.threadId) {
			return 0;
		}
		const tasks = await this._source.adopt(fromInstanceId, this._config.threadId, Date.now());
		for (const task of tasks) {
			this._scheduler.notifyDue(task);
		}
		return tasks.length;
	}

	/**
	 * Get a list of tasks.
	 * @param taskType The type of the task to get.
	 * @param taskStatus The status of the task to get.
	 * @param sortProperty The property to sort by, defaults to dateCreated.
	 * @param sortDirection The order to sort by, defaults to ascending.
	 * @param cursor The cursor to get the next page of tasks.
	 * @param pageSize The maximum number of entities in a page.
	 * @returns The list of tasks.
	 */
	public async query(
		taskType?: string,
		taskStatus?: TaskStatus,
		sortProperty?: "dateCreated" | "dateModified" | "dateCompleted" | "status",
		sortDirection?: SortDirection,
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: IBackgroundTask[]; cursor?: string }> {
		const failures: IValidationFailure[] = [];
		if (!Is.undefined(taskType)) {
			Validation.stringValue(nameof(taskType), taskType, failures);
		}
		if (!Is.undefined(taskStatus)) {
			Validation.arrayOneOf(nameof(taskStatus), taskStatus, Object.values(TaskStatus), failures);
		}
		if (!Is.undefined(sortProperty)) {
			Validation.arrayOneOf(nameof(sortProperty), sortProperty, [...SORT_PROPERTIES], failures);
		}
		if (!Is.undefined(sortDirection)) {
			Validation.arrayOneOf(
				nameof(sortDirection),
				sortDirection,
				Object.values(SortDirection),
				failures
			);
		}
		if (!Is.undefined(cursor)) {
			Validation.string(nameof(cursor), cursor, failures);
		}
		optionalInteger(nameof(pageSize), pageSize, failures, 1);
		Validation.asValidationError(this.CLASS_NAME, "query", failures);

		const page = await this._source.query(
			taskType,
			taskStatus,
			sortProperty ?? "dateCreated",
			sortDirection ?? SortDirection.Ascending,
			cursor,
			pageSize
		);
		return {
			entities: page.entities.map(t => toTaskModel(t)),
			cursor: page.cursor
		};
	}

	/**
	 * Validate create's options, each failure named options.<field>.
	 * @param options The options.
	 * @param failures The failures to add to.
	 * @param many For createMany, which refuses dedupKey.
	 * @internal
	 */
	private validateCreateOptions(
		options: ICreateTaskOptions | undefined,
		failures: IValidationFailure[],
		many: boolean
	): void {
		if (Is.undefined(options) || !Validation.object(nameof(options), options, failures)) {
			return;
		}
		optionalInteger("options.retryCount", options.retryCount, failures, 1);
		optionalInteger("options.retryInterval", options.retryInterval, failures, 1, MAX_TIMER_MS);
		optionalInteger("options.retainFor", options.retainFor, failures, -1, MAX_RETAIN_MS);
		if (!Is.undefined(options.retryBackoff)) {
			Validation.arrayOneOf(
				"options.retryBackoff",
				options.retryBackoff,
				Object.values(RetryBackoff),
				failures
			);
		}
		optionalInteger(
			"options.retryMaxInterval",
			options.retryMaxInterval,
			failures,
			1,
			MAX_TIMER_MS
		);
		if (!Is.undefined(options.startAfter) && startAfterMs(options.startAfter) === undefined) {
			failures.push({ property: "options.startAfter", reason: "validation.beIsoDateOrMs" });
		}
		optionalInteger("options.priority", options.priority, failures, MIN_PRIORITY, MAX_PRIORITY);
		if (!Is.undefined(options.dedupKey)) {
			if (many) {
				failures.push({ property: "options.dedupKey", reason: "validation.notInCreateMany" });
			} else {
				Validation.stringValue("options.dedupKey", options.dedupKey, failures);
			}
		}
	}

	/**
	 * A new pending task from valid input.
	 * @param type The type.
	 * @param payload The payload.
	 * @param options The options.
	 * @param nowMs The current time.
	 * @returns The task.
	 * @internal
	 */
	private newTask(
		type: string,
		payload: unknown,
		options: ICreateTaskOptions | undefined,
		nowMs: number
	): BackgroundTask {
		const now = iso(nowMs);
		const task: BackgroundTask = {
			id: newTaskId(),
			type,
			threadId: this._config.threadId,
			dateCreated: now,
			dateModified: now,
			dateNextProcess: now,
			status: TaskStatus.Pending,
			retainFor: options?.retainFor ?? 0
		};
		if (!Is.empty(payload)) {
			task.payload = JSON.parse(JSON.stringify(payload) as string);
		}
		if (!Is.undefined(options?.retryCount)) {
			task.retriesRemaining = options.retryCount;
		}
		if (!Is.undefined(options?.retryInterval)) {
			task.retryInterval = options.retryInterval;
		}
		// This package's queue options: stored only when given, so a task created as the original
		// creates it is stored exactly as the original stores it.
		let queued = this._config.recordAttempts;
		const backoff = options?.retryBackoff ?? this._config.retryBackoff;
		if (backoff === RetryBackoff.Exponential) {
			task.retryBackoff = backoff;
			queued = true;
		}
		if (!Is.undefined(options?.retryMaxInterval)) {
			task.retryMaxInterval = options.retryMaxInterval;
			queued = true;
		}
		if (!Is.undefined(options?.startAfter)) {
			task.dateNextProcess = iso(Math.max(nowMs, startAfterMs(options.startAfter, nowMs) ?? nowMs));
			queued = true;
		}
		if (!Is.undefined(options?.priority)) {
			if (options.priority !== 0) {
				task.priority = options.priority;
			}
			queued = true;
		}
		if (!Is.undefined(options?.dedupKey)) {
			task.dedupKey = options.dedupKey;
			queued = true;
		}
		if (queued || !Is.undefined(options?.retryBackoff)) {
			task.attempts = 0;
		}
		return task;
	}

	/**
	 * The entity storage registered for tasks.
	 * @param source The class name for errors.
	 * @param storageType The registered name.
	 * @returns The connector.
	 * @throws GeneralError storageNotRegistered when there is none.
	 * @internal
	 */
	private static registeredStorage(
		source: string,
		storageType: string
	): IEntityStorageConnector<BackgroundTask> {
		const storage =
			EntityStorageConnectorFactory.getIfExists<IEntityStorageConnector<BackgroundTask>>(
				storageType
			);
		if (!storage) {
			throw new GeneralError(source, "storageNotRegistered", { storageType });
		}
		return storage;
	}

	/**
	 * The storage id of a task URN.
	 * @param property The argument name, for errors.
	 * @param taskId The URN.
	 * @returns The storage id.
	 * @internal
	 */
	private storageId(property: string, taskId: string): string {
		Urn.guard(this.CLASS_NAME, property, taskId);
		const id = fromTaskUrn(this.CLASS_NAME, EntityStorageBackgroundTaskConnector.NAMESPACE, taskId);
		if (!Is.stringValue(id)) {
			throw new GuardError(this.CLASS_NAME, "guard.urn", property, taskId);
		}
		return id;
	}
}
