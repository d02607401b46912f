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
}
