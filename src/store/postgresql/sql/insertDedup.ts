// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TASK_COLUMNS } from "./columns.js";
import { DEDUP_ACTIVE } from "./fragments.js";
import { CHANNEL_PARAM, INSERT_VALUES, SENDER_PARAM } from "./insert.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Insert a task with a dedupKey unless an active task has its type and key, returning the id of
 * the one inserted or found. DO NOTHING first: a duplicate create writes nothing and locks
 * nothing (an upsert's no-op update locks the active task's row, which the heartbeat and claims
 * then skip, and leaves a dead row version per duplicate). The unique index decides atomically
 * whether the row goes in; when it does not, the active task is read in the same statement, from
 * its snapshot. Only a conflict with a task committed after that snapshot returns no row; then
 * insertDedupUpsertSql, which always returns one.
 * @param n The names.
 * @returns The statement.
 */
export function insertDedupSql(n: ISqlNames): string {
	const typeParam = `$${TASK_COLUMNS.indexOf("type") + 1}`;
	const keyParam = `$${TASK_COLUMNS.indexOf("dedupKey") + 1}`;
	return `WITH i AS (
	INSERT INTO ${n.table} (${n.columns}) VALUES (${INSERT_VALUES})
	ON CONFLICT ("type", "dedupKey") WHERE ${DEDUP_ACTIVE} DO NOTHING
	RETURNING "id", "type"
)
SELECT i."id", true AS "inserted"
FROM i CROSS JOIN LATERAL (SELECT pg_notify(${CHANNEL_PARAM}, ${SENDER_PARAM}::text || ':' || i."type")) AS n
UNION ALL
SELECT a."id", false FROM ${n.table} AS a
WHERE a."type" = ${typeParam}::text AND a."dedupKey" = ${keyParam}::text AND a."dateNextProcess" IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM i)`;
}

/**
 * insertDedupSql when it returned no row, as an upsert: ON CONFLICT DO UPDATE guarantees an
 * insert or an update of the conflicting row, whatever its visibility to the snapshot; the update
 * changes nothing (not the lease owner, status or dateModified that fence a settle).
 * @param n The names.
 * @returns The statement.
 */
export function insertDedupUpsertSql(n: ISqlNames): string {
	return `WITH i AS (
	INSERT INTO ${n.table} (${n.columns}) VALUES (${INSERT_VALUES})
	ON CONFLICT ("type", "dedupKey") WHERE ${DEDUP_ACTIVE} DO UPDATE SET "dedupKey" = EXCLUDED."dedupKey"
	RETURNING "id", "type"
)
SELECT i."id", i."id" = $1::text AS "inserted",
	CASE WHEN i."id" = $1::text THEN pg_notify(${CHANNEL_PARAM}, ${SENDER_PARAM}::text || ':' || i."type") END AS "notified"
FROM i`;
}
