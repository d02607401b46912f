// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * The package's light entry for handler modules, its "./context" export: getTaskContext and its
 * type, nothing else. A handler importing the main entry loads the whole connector (TWIN's core
 * and entity packages, the PostgreSQL driver, piscina) into every worker thread that runs it; this
 * entry loads one small module (docs/performance.md, "Worker start-up").
 */
export { getTaskContext } from "./utils/taskContext.js";
export type { ITaskContext } from "./models/ITaskContext.js";
