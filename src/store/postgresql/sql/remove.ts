// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Remove one task, whatever its state (the API's remove).
 * @param n The names.
 * @returns The statement.
 */
export function removeSql(n: ISqlNames): string {
	return `DELETE FROM ${n.table} WHERE "id" = $1`;
}
