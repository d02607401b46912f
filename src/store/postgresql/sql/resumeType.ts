// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";
import { noticePayload } from "./notify.js";

/**
 * Resume a paused type and tell every node, in one statement: the notice is sent exactly when
 * the resume commits, and only when the type was paused.
 * @param n The names.
 * @returns The statement.
 */
export function resumeTypeSql(n: ISqlNames): string {
	return `WITH r AS (
	DELETE FROM ${n.pausedTable} WHERE "type" = $1::text RETURNING "type"
)
SELECT pg_notify($2, ${noticePayload("resume", "$3", `r."type"`)}) FROM r`;
}
