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
import type { BackgroundTask } from "./entities/backgroundTask.js";
import { InlineExecutor } from "./execution/inlineExecutor.js";
import { moduleExists } from "./execution/outcomes.js";
import { WorkerPoolExecutor } from "./execution/workerPoolExecutor.js";
import { ExecutionMode } from "./models/executionMode.js";
import type { IEntityStorageBackgroundTaskConnectorConstructorOptions } from "./models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
import type { IHandlerOptions } from "./models/IHandlerOptions.js";
import { iso } from "./scheduling/rules.js";
import { Scheduler } from "./scheduling/scheduler.js";
import { EntityStorageTaskSource } from "./store/entityStorage/entityStorageTaskSource.js";
import type { ITaskSource } from "./store/ITaskSource.js";
import { PostgresTaskSource } from "./store/postgresql/postgresTaskSource.js";
import { jsonProblem } from "./utils/jsonValue.js";
import {
	MAX_RETAIN_MS,
	MAX_TIMER_MS,
	optionalInteger,
	resolveConfig,
	validateConfig,
	type IResolvedConfig
} from "./utils/settings.js";
import { TaskLog } from "./utils/taskLog.js";
import { fromTaskUrn, newTaskId, toTaskModel, toTaskUrn } from "./utils/taskModel.js";

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
			serial: options?.serial ?? false
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
	 * @param options Additional options for the task.
	 * @param options.retryCount The number of times to retry the task if it fails; undefined means
	 * no retry (the original's behaviour, see the README).
	 * @param options.retryInterval The interval in milliseconds to wait between retries, defaults
	 * to config.retryInterval.
	 * @param options.retainFor The amount of time in milliseconds to retain the result until
	 * removal, defaults to 0 for immediate removal, set to -1 to keep forever.
	 * @returns The id of the created task.
	 */
	public async create<T>(
		type: string,
		payload?: T,
		options?: { retryCount?: number; retryInterval?: number; retainFor?: number }
	): Promise<string> {
		const failures: IValidationFailure[] = [];
		Validation.stringValue(nameof(type), type, failures);
		if (!Is.undefined(options) && Validation.object(nameof(options), options, failures)) {
			optionalInteger("options.retryCount", options.retryCount, failures, 1);
			optionalInteger("options.retryInterval", options.retryInterval, failures, 1, MAX_TIMER_MS);
			optionalInteger("options.retainFor", options.retainFor, failures, -1, MAX_RETAIN_MS);
		}
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

		const now = iso(Date.now());
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
		await this._source.insert(task);
		if (!this._scheduler.notifyDue(task)) {
			// As the original, which reports it as soon as it looks for the type's next task.
			this._log.log("error", "noHandler", { id: task.id, type });
		}
		return toTaskUrn(EntityStorageBackgroundTaskConnector.NAMESPACE, task.id);
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
