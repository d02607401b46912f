// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { retriedSet } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Retry a task (rules.retriedNow, fragments.retriedSet) and notify its type: pending or failed
 * becomes pending, due no later than now.
 * @param n The names.
 * @returns The statement.
 */
export function retrySql(n: ISqlNames): string {
	return `WITH r AS (
	UPDATE ${n.table} AS t
	SET ${retriedSet(2)}
	WHERE t."id" = $1 AND t."status" IN ('pending', 'failed')
	RETURNING ${n.returning}
)
SELECT r.*, pg_notify($3, $4::text || ':' || r."type") FROM r`;
}
