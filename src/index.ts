// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
export * from "./domain/backgroundTask.js";
export * from "./clusteredTaskScheduler.js";
export * from "./entityStorageBackgroundTaskConnector.js";
export { getTaskContext } from "./utils/taskContext.js";
export * from "./models/executionMode.js";
export * from "./models/IBackgroundTaskStatistics.js";
export * from "./models/IBackgroundTaskWithProgress.js";
export * from "./models/IClusteredTaskSchedulerConstructorOptions.js";
export * from "./models/ICreateTaskOptions.js";
export * from "./models/IEntityStorageBackgroundTaskConnectorConfig.js";
export * from "./models/IEntityStorageBackgroundTaskConnectorConstructorOptions.js";
export * from "./models/IHandlerOptions.js";
export * from "./models/IPostgreSqlBackendConfig.js";
export * from "./models/IRetryFailedOptions.js";
export * from "./models/ISchedule.js";
export * from "./models/IScheduleOptions.js";
export type { CatchUp } from "./domain/scheduleSlots.js";
export * from "./models/ITaskContext.js";
export * from "./schema.js";
export { RetryBackoff } from "./domain/retry.js";
