// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Remove final tasks past their retainUntil, and the rate-limit windows that are over: a type's
 * windows follow one another, so one with a later window is over, and the latest of each type
 * stays (a row per rate-limited type).
 * @param n The names.
 * @returns The statement.
 */
export function sweepSql(n: ISqlNames): string {
	return `WITH w AS (
	DELETE FROM ${n.rateTable} AS o
	WHERE EXISTS (SELECT 1 FROM ${n.rateTable} AS l WHERE l."type" = o."type" AND l."windowStart" > o."windowStart")
)
DELETE FROM ${n.table}
WHERE "retainUntil" > 0 AND "retainUntil" < $1 AND "status" IN ('success', 'failed', 'cancelled')`;
}
