// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Retry a task (rules.retriedNow) and notify its type: pending or failed becomes pending, due no
 * later than now, no dateCompleted or retainUntil; a final task's retainFor (removed when
 * retainUntil was set) is given back: -1 stays -1, else retainUntil - dateModified.
 * @param n The names.
 * @returns The statement.
 */
export function retrySql(n: ISqlNames): string {
	return `WITH r AS (
	UPDATE ${n.table} AS t
	SET "status" = 'pending', "dateModified" = $2,
		"dateNextProcess" = LEAST(t."dateNextProcess", $2),
		"dateCompleted" = NULL,
		"retainFor" = CASE
			WHEN t."retainFor" IS NULL AND t."retainUntil" IS NOT NULL THEN
				CASE WHEN t."retainUntil" = -1 THEN -1
				ELSE t."retainUntil" - (EXTRACT(EPOCH FROM t."dateModified"::timestamptz) * 1000)::bigint END
			ELSE t."retainFor" END,
		"retainUntil" = NULL
	WHERE t."id" = $1 AND t."status" IN ('pending', 'failed')
	RETURNING ${n.returning}
)
SELECT r.*, pg_notify($3, $4::text || ':' || r."type") FROM r`;
}
