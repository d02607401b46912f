// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { LOCKED_ROWS, QUEUED_COLUMNS, retriedSet } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Put failed tasks back to pending (rules.retriedNow, as retry does for one), oldest failure
 * first, and notify their types, in one statement: $1 = now ISO, $2 = the most (NULL: all),
 * $3 = channel, $4 = the sender's instance id, $5 = the type when byType. Identical notifications
 * of one transaction are delivered once, so each type is announced once.
 *
 * A failed task with a dedupKey comes back only while no active task holds its key and no older
 * failed task of its key comes back with it, so the dedup index never refuses the statement (one
 * of a key's failed tasks returns, as retry() of each in turn would leave it). Rows another
 * statement holds locked (a remove, the sweep) are skipped.
 * @param n The names.
 * @param byType Only the tasks of type $5.
 * @returns The statement; it returns the queue columns of each task put back.
 */
export function retryFailedSql(n: ISqlNames, byType: boolean): string {
	return `WITH r AS (
	UPDATE ${n.table} AS t
	SET ${retriedSet(1)}
	WHERE ${LOCKED_ROWS(`	SELECT f.ctid FROM ${n.table} AS f
	WHERE f."status" = 'failed'${byType ? ` AND f."type" = $5` : ""}
		AND (f."dedupKey" IS NULL OR NOT EXISTS (
			SELECT 1 FROM ${n.table} AS k
			WHERE k."type" = f."type" AND k."dedupKey" = f."dedupKey" AND (k."dateNextProcess" IS NOT NULL
				OR (k."status" = 'failed'
					AND (k."dateModified", k."dateCreated", k."id") < (f."dateModified", f."dateCreated", f."id")))))
	ORDER BY f."dateModified", f."dateCreated", f."id"
	LIMIT $2
	FOR UPDATE SKIP LOCKED`)}
	RETURNING ${QUEUED_COLUMNS}
)
SELECT r.*, pg_notify($3, $4::text || ':' || r."type") FROM r`;
}
