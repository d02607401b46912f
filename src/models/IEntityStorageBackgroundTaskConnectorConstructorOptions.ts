// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IEntityStorageBackgroundTaskConnectorConfig } from "./IEntityStorageBackgroundTaskConnectorConfig.js";

/**
 * Options for the entity storage background task connector constructor.
 */
export interface IEntityStorageBackgroundTaskConnectorConstructorOptions {
	/**
	 * The name under which the `IEntityStorageConnector<BackgroundTask>` is registered in the
	 * EntityStorageConnectorFactory.
	 * @default background-task
	 */
	backgroundTaskEntityStorageType?: string;

	/**
	 * The logging connector to use, looked up in LoggingConnectorFactory, exactly as the original
	 * (a TWIN engine passes this name); absent means silent.
	 * @default logging
	 */
	loggingConnectorType?: string;

	/**
	 * A logging component (in ComponentFactory) to use instead of the logging connector.
	 * @default undefined (the logging connector is used)
	 */
	loggingComponentType?: string;

	/**
	 * The configuration for the connector.
	 */
	config?: IEntityStorageBackgroundTaskConnectorConfig;
}
