// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { ComponentFactory, GeneralError, Is } from "@twin.org/core";
import {
	EntityStorageConnectorFactory,
	type IEntityStorageConnector
} from "@twin.org/entity-storage-models";
import {
	LoggingConnectorFactory,
	type ILoggingComponent,
	type ILoggingConnector
} from "@twin.org/logging-models";
import { resolveConfig, type IResolvedConfig } from "../config/settings.js";
import type { ITaskExecutor } from "../contracts/ITaskExecutor.js";
import type { ITaskSource } from "../contracts/ITaskSource.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { InProcessRouting } from "../execution/inProcessHandlers.js";
import { InlineExecutor } from "../execution/inlineExecutor.js";
import { WorkerPoolExecutor } from "../execution/workerPoolExecutor.js";
import { ExecutionMode } from "../models/executionMode.js";
import type { IEntityStorageBackgroundTaskConnectorConstructorOptions } from "../models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
import { Scheduler } from "../scheduling/scheduler.js";
import { EntityStorageTaskSource } from "../store/entityStorage/entityStorageTaskSource.js";
import { PostgresTaskSource } from "../store/postgresql/postgresTaskSource.js";
import { TaskLog, type ILogTarget } from "../utils/taskLog.js";

/**
 * The parts of a connector, built from its options.
 */
export interface IConnectorParts {
	/**
	 * The resolved configuration.
	 */
	config: IResolvedConfig;

	/**
	 * The connector's log.
	 */
	log: TaskLog;

	/**
	 * Where tasks live: any entity-storage connector, or the native PostgreSQL backend.
	 */
	source: ITaskSource;

	/**
	 * The scheduler, holding the source and making an executor on each start.
	 */
	scheduler: Scheduler;
}

/**
 * Build a connector's parts from valid options: the config with its defaults, the log, the
 * backend the config chooses and the scheduler over it.
 * @param className The connector's class name, for its log and errors.
 * @param namespace The connector's namespace.
 * @param options The constructor's options, already validated.
 * @returns The parts.
 * @throws GeneralError storageNotRegistered when the entity storage is not registered.
 */
export function buildConnectorParts(
	className: string,
	namespace: string,
	options: IEntityStorageBackgroundTaskConnectorConstructorOptions | undefined
): IConnectorParts {
	const config = resolveConfig(namespace, options?.config);
	const logTarget = logTargetOf(options);
	const log = new TaskLog(className, logTarget);
	const source = config.postgresql
		? new PostgresTaskSource(
				config.postgresql,
				new TaskLog(PostgresTaskSource.CLASS_NAME, logTarget)
			)
		: new EntityStorageTaskSource(
				registeredStorage(className, options?.backgroundTaskEntityStorageType ?? "background-task"),
				log
			);
	const scheduler = new Scheduler(source, () => createExecutor(config), config, log);
	return { config, log, source, scheduler };
}

/**
 * Where the connector logs. As the original: the logging connector named loggingConnectorType
 * (default "logging") in LoggingConnectorFactory, which is what a TWIN engine passes; absent means
 * silent. A logging component may be named instead with loggingComponentType.
 * @param options The constructor's options.
 * @returns The logging component or connector, if registered.
 */
function logTargetOf(
	options: IEntityStorageBackgroundTaskConnectorConstructorOptions | undefined
): ILogTarget | undefined {
	return Is.stringValue(options?.loggingComponentType)
		? ComponentFactory.getIfExists<ILoggingComponent>(options.loggingComponentType)
		: LoggingConnectorFactory.getIfExists<ILoggingConnector>(
				options?.loggingConnectorType ?? "logging"
			);
}

/**
 * The executor the config asks for, made by the scheduler on each start; handlers that are
 * functions of this process (the clustered task scheduler's) run beside it, on this thread.
 * @param config The resolved config.
 * @returns The executor.
 */
function createExecutor(config: IResolvedConfig): ITaskExecutor {
	return new InProcessRouting(
		config.executionMode === ExecutionMode.Inline
			? new InlineExecutor(config.abortGrace)
			: new WorkerPoolExecutor(config)
	);
}

/**
 * The entity storage registered for tasks.
 * @param source The class name for errors.
 * @param storageType The registered name.
 * @returns The connector.
 * @throws GeneralError storageNotRegistered when there is none.
 */
function registeredStorage(
	source: string,
	storageType: string
): IEntityStorageConnector<BackgroundTask> {
	const storage =
		EntityStorageConnectorFactory.getIfExists<IEntityStorageConnector<BackgroundTask>>(storageType);
	if (!storage) {
		throw new GeneralError(source, "storageNotRegistered", { storageType });
	}
	return storage;
}
