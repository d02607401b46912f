// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { RetryBackoff } from "../domain/retry.js";
import type { ExecutionMode } from "./executionMode.js";
import type { IPostgreSqlBackendConfig } from "./IPostgreSqlBackendConfig.js";

/**
 * Configuration for the entity storage background task connector. Every field is optional and
 * validated at construction.
 */
export interface IEntityStorageBackgroundTaskConnectorConfig {
	/**
	 * This instance's id over entity storage: stored in each task it creates (the threadId
	 * property) and the only tasks it scans, runs and recovers. Give each instance sharing one
	 * store its own id, and no task runs twice on any store; a departed instance's tasks wait for
	 * an instance with its id, or for adoptTasks. Ignored by the native PostgreSQL backend, which
	 * shares work between nodes through leases. A non-empty string of at most 256 characters.
	 * @default "main" (on the main thread; a worker thread's id elsewhere), what the original stores
	 */
	instanceId?: string;

	/**
	 * The name of the engine whose clone data is passed to handlers.
	 * @default engine
	 */
	engineName?: string;

	/**
	 * Minimum gap in milliseconds between two task starts of one type, integer >= 0.
	 * @default 0
	 */
	taskInterval?: number;

	/**
	 * Retry delay in milliseconds for tasks created without one, integer >= 1.
	 * @default 5000
	 */
	retryInterval?: number;

	/**
	 * The retry backoff of tasks created without one: "fixed" (the original's rule) or
	 * "exponential" (doubling per failed attempt up to retryMaxInterval, with full jitter). The
	 * rule is stored with each task when it is created.
	 * @default "fixed"
	 */
	retryBackoff?: RetryBackoff;

	/**
	 * The cap of an exponential retry wait, ms, for tasks created without one, integer >= 1.
	 * @default 3600000
	 */
	retryMaxInterval?: number;

	/**
	 * Record the attempt count (the entity's optional attempts property) on every task created,
	 * so a handler's context always knows its attempt number. Off by default: a task created
	 * without a queue option is then stored exactly as the original stores it.
	 * @default false
	 */
	recordAttempts?: boolean;

	/**
	 * Follow each handler's context (getTaskContext()) across awaits from the first task. By
	 * default a thread starts following it the first time a handler asks for it: on Node 20 it
	 * makes every promise of the thread slower (about 12 us per task inline), so a node whose
	 * handlers never ask does not pay, and the first call, made before the handler's first await,
	 * still gets its context. Set this when a handler's first call may read its context only after
	 * an await.
	 * @default false
	 */
	trackTaskContext?: boolean;

	/**
	 * How often expired retained tasks are swept, in milliseconds, integer >= 1000.
	 * @default 120000
	 */
	cleanupInterval?: number;

	/**
	 * The dead-letter: how long a task that ends failed (its last attempt failed) is kept, in
	 * milliseconds, whatever its own retainFor: -1 for ever, 0 removed at once, n kept n ms and
	 * then swept. The task keeps its own retainFor, which a retry gives back. An integer >= -1.
	 * @default undefined (a failed task follows its own retainFor, as the original)
	 */
	failedRetainFor?: number;

	/**
	 * Tasks of one type that may run at once, integer >= 1. 1 keeps strict per-type order.
	 * @default 1
	 */
	concurrency?: number;

	/**
	 * Worker threads shared by all types, integer from 1 to 256.
	 * @default os.availableParallelism(), no more than the CPU quota of the process's Linux control
	 * group (a container's CPU limit), rounded down; at most 256
	 */
	maxWorkers?: number;

	/**
	 * Milliseconds after which a running handler is stopped and the attempt fails, integer >= 1.
	 * @default undefined (no timeout)
	 */
	taskTimeout?: number;

	/**
	 * How long stop() waits for running tasks, in milliseconds, integer >= 0.
	 * @default 10000
	 */
	shutdownTimeout?: number;

	/**
	 * How long a handler whose abort signal fired has to end before it is stopped, in
	 * milliseconds, integer >= 0. The signal (getTaskContext().signal) fires when the handler's
	 * timeout passes, when stop() has waited shutdownTimeout and when abort(taskId) stops the task;
	 * a worker whose handler has not ended this long after is terminated (inline, an aborted
	 * task's attempt is abandoned then). A timed-out attempt fails with the timeout error either
	 * way; a handler that ends within the grace after stop()'s signal has its outcome recorded.
	 * stop() can therefore take up to shutdownTimeout + abortGrace.
	 * @default 1000
	 */
	abortGrace?: number;

	/**
	 * How often storage is checked for due tasks this instance did not schedule itself, in
	 * milliseconds, integer >= 100.
	 * @default 5000
	 */
	pollInterval?: number;

	/**
	 * Where handlers run: "worker" (default) or "inline".
	 * @default worker
	 */
	executionMode?: ExecutionMode;

	/**
	 * Heap limit of each worker thread in MB, integer >= 16; a handler exceeding it fails its
	 * attempt with an out-of-memory error and its worker is replaced.
	 * @default undefined (Node's default)
	 */
	maxWorkerMemoryMb?: number;

	/**
	 * Use the native PostgreSQL backend on this table instead of an entity-storage connector:
	 * safe for several nodes on one database (atomic batch claims, leases, fenced writes,
	 * LISTEN/NOTIFY wake-ups). No entity-storage registration is needed when it is set.
	 * @default undefined (entity storage)
	 */
	postgresql?: IPostgreSqlBackendConfig;
}
