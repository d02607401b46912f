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
	 * The logging component to use, absent means silent.
	 * @default logging
	 */
	loggingComponentType?: string;

	/**
	 * Older name of loggingComponentType, accepted as an alias.
	 * @deprecated Use loggingComponentType.
	 */
	loggingConnectorType?: string;

	/**
	 * The configuration for the connector.
	 */
	config?: IEntityStorageBackgroundTaskConnectorConfig;
}
