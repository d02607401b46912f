// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The options of ClusteredTaskScheduler: TWIN's TaskSchedulerService's, plus the background task
 * connector it coordinates through.
 */
export interface IClusteredTaskSchedulerConstructorOptions {
	/**
	 * The logging connector, as TaskSchedulerService's; default "logging".
	 */
	loggingConnectorType?: string;

	/**
	 * The background task connector registered in BackgroundTaskConnectorFactory (this package's
	 * EntityStorageBackgroundTaskConnector), looked up at start(); default "background-task".
	 */
	backgroundTaskConnectorType?: string;

	/**
	 * The config, as TaskSchedulerService's.
	 */
	config?: {
		/**
		 * TaskSchedulerService's tick, ms: accepted for compatibility and unused, since each
		 * occurrence is a task created at its time rather than found by a periodic check.
		 */
		overrideInterval?: number;
	};
}
