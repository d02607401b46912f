// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The counts of one type's tasks per status.
 */
export interface ITaskStatusCounts {
	/**
	 * Waiting to run (including retries and delayed starts).
	 */
	pending: number;

	/**
	 * Claimed by a node (running, or in a node's local queue on the native backend).
	 */
	processing: number;

	/**
	 * Completed and retained.
	 */
	success: number;

	/**
	 * Failed with no retries left, and retained.
	 */
	failed: number;

	/**
	 * Cancelled and retained.
	 */
	cancelled: number;
}

/**
 * What getStatistics() reports.
 */
export interface IBackgroundTaskStatistics {
	/**
	 * Tasks in storage per type and status (final tasks only while retained). On the native
	 * PostgreSQL backend one grouped query; over entity storage a scan bounded by 100,000 tasks.
	 */
	types: { [type: string]: ITaskStatusCounts };

	/**
	 * False when the counts stopped at the bound of the entity-storage scan.
	 */
	complete: boolean;

	/**
	 * The paused types (pause()), sorted: on the native PostgreSQL backend those stored for every
	 * node, over entity storage this instance's; only the type asked for, when one was.
	 */
	pausedTypes: string[];

	/**
	 * Tasks this node is running now.
	 */
	running: number;

	/**
	 * Tasks this node finished (any outcome) in the last minute.
	 */
	completedLastMinute: number;

	/**
	 * Start latency on this node over the last minute: from when a task was due to when its
	 * handler started, ms. Undefined when no task started in the last minute.
	 */
	startLatency: {
		/**
		 * The median.
		 */
		p50?: number;

		/**
		 * The 99th percentile.
		 */
		p99?: number;

		/**
		 * How many starts the percentiles are taken from (at most the last 10,000).
		 */
		samples: number;
	};
}
