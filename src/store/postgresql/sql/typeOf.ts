// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Read the type of a task, to take its serial lock before claiming it.
 * @param n The names.
 * @returns The statement.
 */
export function typeOfSql(n: ISqlNames): string {
	return `SELECT "type" FROM ${n.table} WHERE "id" = $1`;
}
