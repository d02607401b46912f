// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Remove a settle batch of finished tasks, fenced like settleSql, from two text arrays rather
 * than JSON records. The arrays go through sub-selects so that no plan sees their length: a
 * custom plan that did estimated the fenced rows at one and scanned the whole table
 * (docs/performance.md).
 * @param n The names.
 * @returns The statement.
 */
export function settleRemovalsSql(n: ISqlNames): string {
	return `WITH s AS (SELECT * FROM unnest((SELECT $1::text[]), (SELECT $2::text[])) AS x("id", "claimedAt")),
d AS (
	DELETE FROM ${n.table} AS t USING s
	WHERE t."id" = s."id" AND t."leaseOwner" = $3 AND t."status" = 'processing' AND t."dateModified" = s."claimedAt"
	RETURNING t."id"
)
SELECT s."id" FROM s WHERE NOT EXISTS (SELECT 1 FROM d WHERE d."id" = s."id")`;
}
