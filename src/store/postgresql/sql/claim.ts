// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { CLAIMABLE, claimSet, notPaused } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Claim one task by id unless its type is paused: its WHERE holds the claimable condition, so two
 * nodes racing on the task cannot both take it.
 * @param n The names.
 * @returns The statement.
 */
export function claimSql(n: ISqlNames): string {
	return `UPDATE ${n.table} AS t
SET ${claimSet(3)}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${CLAIMABLE}
	AND ${notPaused(n.pausedTable, 't."type"')}
RETURNING ${n.returning}`;
}
