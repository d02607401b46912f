// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { RetryBackoff } from "../domain/retry.js";

/**
 * The options of create(): the original's three, and this package's queue options. Each queue
 * option is optional; a task created without any is stored exactly as the original stores it.
 */
export interface ICreateTaskOptions {
	/**
	 * The number of times to retry the task if it fails; undefined means no retry.
	 */
	retryCount?: number;

	/**
	 * The interval in milliseconds to wait between retries (the first wait, with exponential
	 * backoff), defaults to config.retryInterval.
	 */
	retryInterval?: number;

	/**
	 * The amount of time in milliseconds to retain the result until removal, defaults to 0 for
	 * immediate removal, set to -1 to keep forever.
	 */
	retainFor?: number;

	/**
	 * "fixed" (the default, the original's rule): retryInterval before every retry.
	 * "exponential": the wait after the n-th failed attempt is uniformly random in
	 * [0, min(retryMaxInterval, retryInterval * 2^(n-1))) (full jitter). Defaults to
	 * config.retryBackoff.
	 */
	retryBackoff?: RetryBackoff;

	/**
	 * The cap of an exponential retry wait, ms; defaults to config.retryMaxInterval (one hour).
	 */
	retryMaxInterval?: number;

	/**
	 * Delay the first run: milliseconds from now, or an ISO 8601 date. The task is stored pending
	 * and becomes due then; retry() runs it at once.
	 */
	startAfter?: number | string;

	/**
	 * Among due tasks of the type, higher runs first; an integer, default 0. Equal priorities keep
	 * due order. A constant stream of higher priorities starves lower ones (as in every priority
	 * queue): give such work its own type with its own concurrency instead.
	 */
	priority?: number;

	/**
	 * While a task of this type with this key is pending or processing, create() returns that
	 * task's id instead of creating another. Once that task is final the key is free again. On
	 * the native PostgreSQL backend this is one atomic statement (nodes racing on a key create
	 * one task); over entity storage it holds within one node, which is what that path supports.
	 */
	dedupKey?: string;
}
