// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The options of retryFailed.
 */
export interface IRetryFailedOptions {
	/**
	 * At most this many failed tasks are put back (the oldest failures first), integer >= 1.
	 * @default undefined (every failed task)
	 */
	limit?: number;
}
