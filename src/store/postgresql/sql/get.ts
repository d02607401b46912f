// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Read one task's entity columns.
 * @param n The names.
 * @returns The statement.
 */
export function getSql(n: ISqlNames): string {
	return `SELECT ${n.columns} FROM ${n.table} WHERE "id" = $1`;
}
