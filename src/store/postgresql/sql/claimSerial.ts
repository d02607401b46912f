// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { CLAIMABLE, claimSet, DB_NOW_MS, notPaused } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";
import { holding, serialGate } from "./serialFragments.js";

/**
 * Claim one task of a serial type by id while none of its type runs, no claimable one comes
 * before it in claim order and the type is not paused, and record it as the type's holder.
 * @param n The names.
 * @returns The statement.
 */
export function claimSerialSql(n: ISqlNames): string {
	// "Before it" in claim order: a higher priority, or the same priority and an earlier
	// (due, created, id). Two conditions, each a range of the claim index (a row comparison
	// after the priority's equality), so neither walks the type's backlog.
	const eClaimable = `(e."status" = 'pending' OR (e."status" = 'processing' AND (e."leaseExpires" IS NULL OR e."leaseExpires" < ${DB_NOW_MS})))`;
	const ahead = (condition: string): string => `NOT EXISTS (
		SELECT 1 FROM ${n.table} AS e
		WHERE e."type" = t."type" AND e."threadId" = $2 AND e."dateNextProcess" <= $3 AND ${eClaimable}
			AND ${condition}
	)`;
	const tClaimable = CLAIMABLE.replaceAll('"status"', 't."status"').replaceAll(
		'"leaseExpires"',
		't."leaseExpires"'
	);
	return holding(
		n,
		`UPDATE ${n.table} AS t
SET ${claimSet(3)}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${tClaimable}
	AND ${serialGate(n, 't."type"')} AND ${notPaused(n.pausedTable, 't."type"')}
	AND ${ahead(`COALESCE(e."priority", 0) > COALESCE(t."priority", 0)`)}
	AND ${ahead(`COALESCE(e."priority", 0) = COALESCE(t."priority", 0)
			AND (e."dateNextProcess", e."dateCreated", e."id") < (t."dateNextProcess", t."dateCreated", t."id")`)}
RETURNING ${n.returning}`
	);
}
