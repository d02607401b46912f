// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { QUEUED_COLUMNS } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Read the queue columns of one pending task of a thread, to queue it locally.
 * @param n The names.
 * @returns The statement.
 */
export function pendingOfSql(n: ISqlNames): string {
	return `SELECT ${QUEUED_COLUMNS}
FROM ${n.table} WHERE "id" = $1 AND "threadId" = $2 AND "status" = 'pending'`;
}
