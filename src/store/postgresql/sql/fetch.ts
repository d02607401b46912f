// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { CLAIMABLE, CLAIM_ORDER, claimSet, LOCKED_ROWS, notPaused } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Claim a batch of due tasks of one type in claim order, unless the type is paused: the subquery
 * locks them with SKIP LOCKED, so concurrent batches never take the same row, and the UPDATE reads
 * them by address. The pause check depends on the parameter only, so it is decided once, before
 * the claim index is read.
 * @param n The names.
 * @returns The statement.
 */
export function fetchSql(n: ISqlNames): string {
	return `UPDATE ${n.table} AS t
SET ${claimSet(4)}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${n.table}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $4 AND ${CLAIMABLE}
		AND ${notPaused(n.pausedTable, "$1::text")}
	ORDER BY ${CLAIM_ORDER}
	LIMIT $3
	FOR UPDATE SKIP LOCKED`)}
RETURNING ${n.returning}`;
}
