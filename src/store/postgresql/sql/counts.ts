// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Count the tasks per type and status (getStatistics of every type).
 * @param n The names.
 * @returns The statement.
 */
export function countsSql(n: ISqlNames): string {
	return `SELECT "type", "status", count(*) AS "count" FROM ${n.table} GROUP BY "type", "status"`;
}

/**
 * Count the tasks of one type per status (getStatistics of a type).
 * @param n The names.
 * @returns The statement.
 */
export function countsOfTypeSql(n: ISqlNames): string {
	return `SELECT "type", "status", count(*) AS "count" FROM ${n.table} WHERE "type" = $1 GROUP BY "type", "status"`;
}
