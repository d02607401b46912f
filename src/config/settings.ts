// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { isMainThread, threadId } from "node:worker_threads";
import { Is, Validation, type IValidationFailure } from "@twin.org/core";
import type { IEntityStorageBackgroundTaskConnectorConfig } from "../models/IEntityStorageBackgroundTaskConnectorConfig.js";
import { ExecutionMode } from "../models/executionMode.js";
import type { IPostgreSqlBackendConfig } from "../models/IPostgreSqlBackendConfig.js";
import { resolvePostgresConfig, validatePostgresConfig } from "./postgresConfig.js";
import { DEFAULT_RETRY_MAX_INTERVAL, RetryBackoff } from "../domain/retry.js";
import type { ISchedulerSettings } from "../contracts/schedulerModels.js";
import { DEFAULT_ABORT_GRACE_MS } from "../contracts/ITaskExecutor.js";
import { defaultMaxWorkers, MAX_WORKERS } from "./cpuQuota.js";

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
	 * The retry backoff of tasks created without one.
	 */
	retryBackoff: RetryBackoff;

	/**
	 * Record attempts on every task.
	 */
	recordAttempts: boolean;

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

	/**
	 * The native PostgreSQL backend's config, when it is used.
	 */
	postgresql?: IPostgreSqlBackendConfig;
}

/**
 * The longest delay a timer accepts (about 24.8 days): every setting used as a timer delay is
 * capped here, since a longer one would fire at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The longest retainFor accepted: 100 years, so retainUntil stays a valid date.
 */
export const MAX_RETAIN_MS = 3_155_760_000_000;

/**
 * The integer fields of the config with their bounds.
 */
const INTEGER_BOUNDS: {
	[key in keyof IEntityStorageBackgroundTaskConnectorConfig]?: [min: number, max?: number];
} = {
	taskInterval: [0, MAX_TIMER_MS],
	retryInterval: [1, MAX_TIMER_MS],
	retryMaxInterval: [1, MAX_TIMER_MS],
	cleanupInterval: [1000, MAX_TIMER_MS],
	concurrency: [1],
	// Each worker costs memory and a thread when busy: more than this is a mistake, not a setting.
	maxWorkers: [1, MAX_WORKERS],
	taskTimeout: [1, MAX_TIMER_MS],
	shutdownTimeout: [0, MAX_TIMER_MS],
	abortGrace: [0, MAX_TIMER_MS],
	pollInterval: [100, MAX_TIMER_MS],
	maxWorkerMemoryMb: [16, 1_048_576],
	failedRetainFor: [-1, MAX_RETAIN_MS]
};

/**
 * Validate an optional integer within bounds.
 * @param property The property name.
 * @param value The value.
 * @param failures The failures to add to.
 * @param minValue The minimum.
 * @param maxValue The maximum.
 */
export function optionalInteger(
	property: string,
	value: unknown,
	failures: IValidationFailure[],
	minValue: number,
	maxValue?: number
): void {
	// The lower bound alone first, so a value the original also rejects gets the original's
	// failure (validation.beWholeNumberMin); the upper bound, which the original lacks, only when
	// the rest holds.
	if (
		!Is.undefined(value) &&
		Validation.integer(property, value, failures, undefined, { minValue }) &&
		!Is.undefined(maxValue)
	) {
		Validation.integer(property, value, failures, undefined, { minValue, maxValue });
	}
}

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
	for (const [key, [minValue, maxValue]] of Object.entries(INTEGER_BOUNDS)) {
		optionalInteger(`config.${key}`, values[key], failures, minValue, maxValue);
	}
	if (!Is.undefined(values.retryBackoff)) {
		Validation.arrayOneOf(
			"config.retryBackoff",
			values.retryBackoff,
			Object.values(RetryBackoff),
			failures
		);
	}
	if (!Is.undefined(values.recordAttempts)) {
		Validation.boolean("config.recordAttempts", values.recordAttempts, failures);
	}
	if (!Is.undefined(values.trackTaskContext)) {
		Validation.boolean("config.trackTaskContext", values.trackTaskContext, failures);
	}
	if (!Is.undefined(values.instanceId)) {
		Validation.stringValue("config.instanceId", values.instanceId, failures, undefined, {
			maxLength: 256
		});
	}
	if (!Is.undefined(values.engineName)) {
		Validation.stringValue("config.engineName", values.engineName, failures);
	}
	if (!Is.undefined(values.postgresql)) {
		validatePostgresConfig(values.postgresql, failures);
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
	const maxWorkers = config.maxWorkers ?? defaultMaxWorkers();
	return {
		namespace,
		// The native backend leases its claims, so every node keeps the original's thread id.
		threadId:
			(config.postgresql ? undefined : config.instanceId) ??
			(isMainThread ? "main" : threadId.toString()),
		engineName: config.engineName ?? "engine",
		taskInterval: config.taskInterval ?? 0,
		retryInterval: config.retryInterval ?? 5000,
		retryBackoff: config.retryBackoff ?? RetryBackoff.Fixed,
		retryMaxInterval: config.retryMaxInterval ?? DEFAULT_RETRY_MAX_INTERVAL,
		recordAttempts: config.recordAttempts ?? false,
		cleanupInterval: config.cleanupInterval ?? 120_000,
		concurrency: config.concurrency ?? 1,
		maxWorkers,
		taskTimeout: config.taskTimeout,
		shutdownTimeout: config.shutdownTimeout ?? 10_000,
		abortGrace: config.abortGrace ?? DEFAULT_ABORT_GRACE_MS,
		trackTaskContext: config.trackTaskContext ?? false,
		pollInterval: config.pollInterval ?? 5000,
		failedRetainFor: config.failedRetainFor,
		maxWorkerMemoryMb: config.maxWorkerMemoryMb,
		executionMode,
		// Worker mode: four times the workers, so a worker never waits while the main thread
		// records the tasks it just ran and claims the next, and quick handlers' jobs can go to a
		// worker several in one message (see docs/performance.md). Inline: only the per-type
		// concurrency limits.
		globalLimit: executionMode === ExecutionMode.Worker ? maxWorkers * 4 : Number.POSITIVE_INFINITY,
		// On the native backend a batch is claimed for this node: it is the bounded local queue.
		batchSize: config.postgresql
			? resolvePostgresConfig(config.postgresql).localQueueSize
			: BATCH_SIZE,
		postgresql: config.postgresql
	};
}
