// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IBackgroundTask } from "@twin.org/background-task-models";
import type { IRateLimit } from "../models/IHandlerOptions.js";

/**
 * A registered handler with its effective per-type options.
 */
export interface IRegisteredHandler {
	/**
	 * The module specifier.
	 */
	module: string;

	/**
	 * The export name, or Export.member.
	 */
	method: string;

	/**
	 * Called with the task when it is claimed and when it settles.
	 */
	stateChangeCallback?: (task: IBackgroundTask) => Promise<void>;

	/**
	 * Tasks of the type that may run at once.
	 */
	concurrency: number;

	/**
	 * Milliseconds after which a running handler is stopped, if set.
	 */
	timeout?: number;

	/**
	 * One task at a time across every node sharing the store (concurrency is then 1).
	 */
	serial: boolean;

	/**
	 * At most max starts per per ms of the type, if set.
	 */
	rateLimit?: IRateLimit;
}

/**
 * The resolved settings the scheduler runs with.
 */
export interface ISchedulerSettings {
	/**
	 * The connector namespace, for task URNs passed to callbacks.
	 */
	namespace: string;

	/**
	 * The thread whose tasks this instance runs.
	 */
	threadId: string;

	/**
	 * The engine whose clone data handlers receive.
	 */
	engineName: string;

	/**
	 * Minimum gap between two starts of one type, ms.
	 */
	taskInterval: number;

	/**
	 * Retry delay for tasks created without one, ms.
	 */
	retryInterval: number;

	/**
	 * The cap of an exponential retry delay for tasks created without one, ms.
	 */
	retryMaxInterval: number;

	/**
	 * How often storage is polled, ms.
	 */
	pollInterval: number;

	/**
	 * How often expired tasks are swept, ms.
	 */
	cleanupInterval: number;

	/**
	 * The dead-letter retain period of tasks that end failed (ms, -1 for ever), in place of their
	 * own retainFor; undefined: their own applies.
	 */
	failedRetainFor?: number;

	/**
	 * How long stop() waits for running tasks, ms.
	 */
	shutdownTimeout: number;

	/**
	 * How long handlers whose signal fired (stop() past shutdownTimeout) have to end, ms.
	 */
	abortGrace: number;

	/**
	 * Run every handler inside its tracked context from the first task (else tracking starts with
	 * the first getTaskContext() of a thread).
	 */
	trackTaskContext: boolean;

	/**
	 * Tasks in flight at once across all types.
	 */
	globalLimit: number;

	/**
	 * Tasks read per storage scan.
	 */
	batchSize: number;
}
