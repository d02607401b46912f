// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Per-type options, the optional fifth argument of registerHandler.
 */
export interface IHandlerOptions {
	/**
	 * Tasks of this type that may run at once, integer >= 1; overrides config.concurrency.
	 */
	concurrency?: number;

	/**
	 * Milliseconds after which a running handler of this type is stopped, integer >= 1; overrides
	 * config.taskTimeout.
	 */
	timeout?: number;

	/**
	 * Run this type's tasks one at a time, in dateNextProcess order, across every node sharing the
	 * store: what concurrency 1 means on a single node. On the native PostgreSQL backend a claim
	 * of the type is taken only while no task of it runs under a live lease anywhere (a dead
	 * node's lease expires, so it cannot hold the type forever); over entity storage, which is one
	 * node per store, it is concurrency 1. Implies concurrency 1 (a larger one is rejected).
	 * @default false
	 */
	serial?: boolean;

	/**
	 * At most `max` starts of this type per `per` milliseconds. Over entity storage the limit is
	 * per node (a sliding window of the last `per` ms); on the native PostgreSQL backend it is
	 * also across every node, by a counter in the database (a fixed window of `per` ms per type,
	 * so up to twice `max` may start around a window boundary). Tasks over the limit wait; nothing
	 * fails.
	 */
	rateLimit?: IRateLimit;
}

/**
 * A rate limit: at most max starts per per milliseconds.
 */
export interface IRateLimit {
	/**
	 * Starts allowed per window, integer >= 1.
	 */
	max: number;

	/**
	 * The window, milliseconds, integer >= 1.
	 */
	per: number;
}
