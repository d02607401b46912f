// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { CLAIMABLE, CLAIM_ORDER, claimSet, LOCKED_ROWS, notPaused } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";
import { holding, serialGate } from "./serialFragments.js";

/**
 * Claim the first task in claim order of a serial type while none of it runs and the type is not
 * paused, and record it as the type's holder; FOR UPDATE without SKIP LOCKED, as the advisory lock already serializes it.
 * @param n The names.
 * @returns The statement.
 */
export function fetchSerialSql(n: ISqlNames): string {
	return holding(
		n,
		`UPDATE ${n.table} AS t
SET ${claimSet(3)}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${n.table}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $3 AND ${CLAIMABLE}
		AND ${serialGate(n, "$1::text")} AND ${notPaused(n.pausedTable, "$1::text")}
	ORDER BY ${CLAIM_ORDER}
	LIMIT 1
	FOR UPDATE`)}
RETURNING ${n.returning}`
	);
}
