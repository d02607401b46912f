// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { availableParallelism } from "node:os";
import { isMainThread, threadId } from "node:worker_threads";
import { Is, Validation, type IValidationFailure } from "@twin.org/core";
import type { IEntityStorageBackgroundTaskConnectorConfig } from "../models/IEntityStorageBackgroundTaskConnectorConfig.js";
import { ExecutionMode } from "../models/executionMode.js";
import type { ISchedulerSettings } from "../scheduling/schedulerModels.js";

/**
 * Tasks read per storage scan: large enough that a backlog costs far less than one query per
 * task, small enough that a scan of a huge backlog stays cheap in memory.
 */
const BATCH_SIZE = 1000;

/**
 * The resolved configuration: every default applied.
 */
export interface IResolvedConfig extends ISchedulerSettings {
	/**
	 * Default per-type concurrency.
	 */
	concurrency: number;

	/**
	 * Worker threads.
	 */
	maxWorkers: number;

	/**
	 * Default handler timeout.
	 */
	taskTimeout?: number;

	/**
	 * Worker heap limit, MB.
	 */
	maxWorkerMemoryMb?: number;

	/**
	 * Where handlers run.
	 */
	executionMode: ExecutionMode;
}

/**
 * The integer fields of the config with their minimum values.
 */
const INTEGER_MINIMUMS: { [key in keyof IEntityStorageBackgroundTaskConnectorConfig]?: number } = {
	taskInterval: 0,
	retryInterval: 1,
	cleanupInterval: 1000,
	concurrency: 1,
	maxWorkers: 1,
	taskTimeout: 1,
	shutdownTimeout: 0,
	pollInterval: 100,
	maxWorkerMemoryMb: 16
};

/**
 * Validate the config, collecting every failure, named config.<field>.
 * @param config The config.
 * @returns The failures, empty when valid.
 */
export function validateConfig(config: unknown): IValidationFailure[] {
	const failures: IValidationFailure[] = [];
	if (Is.undefined(config)) {
		return failures;
	}
	if (!Validation.object("config", config, failures)) {
		return failures;
	}
	const values = config as { [key: string]: unknown };
	for (const [key, minValue] of Object.entries(INTEGER_MINIMUMS)) {
		if (!Is.undefined(values[key])) {
			Validation.integer(`config.${key}`, values[key], failures, undefined, { minValue });
		}
	}
	if (!Is.undefined(values.engineName)) {
		Validation.stringValue("config.engineName", values.engineName, failures);
	}
	if (!Is.undefined(values.executionMode)) {
		Validation.arrayOneOf(
			"config.executionMode",
			values.executionMode,
			Object.values(ExecutionMode),
			failures
		);
	}
	return failures;
}

/**
 * Apply the defaults to a valid config.
 * @param namespace The connector namespace.
 * @param config The config.
 * @returns The resolved config.
 */
export function resolveConfig(
	namespace: string,
	config: IEntityStorageBackgroundTaskConnectorConfig = {}
): IResolvedConfig {
	const executionMode = config.executionMode ?? ExecutionMode.Worker;
	const maxWorkers = config.maxWorkers ?? availableParallelism();
	return {
		namespace,
		threadId: isMainThread ? "main" : threadId.toString(),
		engineName: config.engineName ?? "engine",
		taskInterval: config.taskInterval ?? 0,
		retryInterval: config.retryInterval ?? 5000,
		cleanupInterval: config.cleanupInterval ?? 120_000,
		concurrency: config.concurrency ?? 1,
		maxWorkers,
		taskTimeout: config.taskTimeout,
		shutdownTimeout: config.shutdownTimeout ?? 10_000,
		pollInterval: config.pollInterval ?? 5000,
		maxWorkerMemoryMb: config.maxWorkerMemoryMb,
		executionMode,
		// Worker mode: twice the workers, so a worker never waits while the main thread records the
		// previous task and claims the next. Inline: only the per-type concurrency limits.
		globalLimit: executionMode === ExecutionMode.Worker ? maxWorkers * 2 : Number.POSITIVE_INFINITY,
		batchSize: BATCH_SIZE
	};
}
