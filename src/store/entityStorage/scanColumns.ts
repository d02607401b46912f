// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";

/**
 * The columns a scan reads: what the scheduler needs to order and claim tasks. Leaving out
 * payload, result and error keeps scans small, and keeps a row whose JSON payload the PostgreSQL
 * connector cannot parse (a JSON string written by other software) from stopping its type's scan.
 */
export const SCAN_PROPERTIES = [
	"id",
	"type",
	"threadId",
	"status",
	"dateCreated",
	"dateModified",
	"dateNextProcess"
] as const satisfies readonly (keyof BackgroundTask)[];

/**
 * Columns a scan reads when the store has them: this package's queue properties the scheduler
 * orders by. A table made before they existed lacks their columns, and the PostgreSQL connector
 * fails a query that selects a missing column, so a scan drops one the store reports missing.
 */
export const OPTIONAL_SCAN_PROPERTIES = [
	"priority"
] as const satisfies readonly (keyof BackgroundTask)[];

/**
 * A task as a scan reads it: the scheduling columns only.
 */
export type ScannedTask = Pick<BackgroundTask, (typeof SCAN_PROPERTIES)[number]> &
	Partial<Pick<BackgroundTask, (typeof OPTIONAL_SCAN_PROPERTIES)[number]>>;
