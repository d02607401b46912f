// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { COLUMN_TYPES, TASK_COLUMNS } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";
import { quoteIdentifier } from "../postgresNames.js";

/**
 * Insert many tasks from one JSON array parameter (one parameter whatever the count) and notify
 * each type once.
 * @param n The names.
 * @returns The statement.
 */
export function insertManySql(n: ISqlNames): string {
	const record = TASK_COLUMNS.map(c => `${quoteIdentifier(c)} ${COLUMN_TYPES[c]}`).join(", ");
	return `WITH i AS (
	INSERT INTO ${n.table} (${n.columns})
	SELECT ${n.columns} FROM jsonb_to_recordset($1::text::jsonb) AS x(${record})
	RETURNING "type"
)
SELECT pg_notify($2, $3::text || ':' || d."type") FROM (SELECT DISTINCT "type" FROM i) AS d`;
}
