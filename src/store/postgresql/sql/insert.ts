// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { JSON_COLUMNS, TASK_COLUMNS } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * The VALUES list of one task: a parameter per entity column in TASK_COLUMNS order, the JSONB
 * columns sent as text and cast.
 */
export const INSERT_VALUES = TASK_COLUMNS.map((c, i) =>
	JSON_COLUMNS.includes(c) ? `$${i + 1}::text::jsonb` : `$${i + 1}`
).join(", ");

/**
 * The parameter of the notification channel, after the task's columns.
 */
export const CHANNEL_PARAM = `$${TASK_COLUMNS.length + 1}`;

/**
 * The parameter of the sender's instance id, after the channel.
 */
export const SENDER_PARAM = `$${TASK_COLUMNS.length + 2}`;

/**
 * Insert one task and notify its type in the same statement, so the wake-up is sent exactly when
 * the row commits.
 * @param n The names.
 * @returns The statement.
 */
export function insertSql(n: ISqlNames): string {
	return `WITH i AS (
	INSERT INTO ${n.table} (${n.columns}) VALUES (${INSERT_VALUES}) RETURNING "type"
)
SELECT pg_notify(${CHANNEL_PARAM}, ${SENDER_PARAM}::text || ':' || i."type") FROM i`;
}
