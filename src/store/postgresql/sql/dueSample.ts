// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * One due pending task of a thread per type, among the 100 due first: enough to report types
 * with no handler without reading the whole backlog.
 * @param n The names.
 * @returns The statement.
 */
export function dueSampleSql(n: ISqlNames): string {
	return `SELECT DISTINCT ON ("type") "type", "id" FROM (
	SELECT "type", "id", "dateNextProcess" FROM ${n.table}
	WHERE "status" = 'pending' AND "threadId" = $1 AND "dateNextProcess" <= $2
	ORDER BY "dateNextProcess", "id"
	LIMIT 100
) AS d
ORDER BY "type", "dateNextProcess", "id"`;
}
