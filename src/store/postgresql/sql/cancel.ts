// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Cancel a pending task (rules.cancelled): retainFor 0 removes it (rules.removeOnSettle: exactly
 * 0; none keeps it, without a retain date); -1 keeps it forever, n > 0 until now + n. Two
 * data-modifying parts of one statement on one snapshot: at most one of them matches.
 * @param n The names.
 * @returns The statement.
 */
export function cancelSql(n: ISqlNames): string {
	return `WITH d AS (
	DELETE FROM ${n.table} AS t
	WHERE t."id" = $1 AND t."status" = 'pending' AND t."retainFor" = 0
	RETURNING ${n.returning}
), u AS (
	UPDATE ${n.table} AS t
	SET "status" = 'cancelled', "dateModified" = $2, "dateCancelled" = $2, "dateNextProcess" = NULL,
		"retainUntil" = CASE WHEN t."retainFor" = -1 THEN -1
			WHEN t."retainFor" > 0 THEN $3::bigint + t."retainFor"::bigint
			ELSE t."retainUntil" END
	WHERE t."id" = $1 AND t."status" = 'pending' AND t."retainFor" IS DISTINCT FROM 0
	RETURNING ${n.returning}
)
SELECT true AS "removed", d.* FROM d UNION ALL SELECT false, u.* FROM u`;
}
