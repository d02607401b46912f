// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * The paused types, sorted.
 * @param n The names.
 * @returns The statement.
 */
export function pausedTypesSql(n: ISqlNames): string {
	return `SELECT "type" FROM ${n.pausedTable} ORDER BY "type"`;
}
