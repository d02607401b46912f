// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";
import { noticePayload } from "./notify.js";

/**
 * Pause a type and tell every node, in one statement: the notice is sent exactly when the pause
 * commits, and only when the type was not paused yet.
 * @param n The names.
 * @returns The statement.
 */
export function pauseTypeSql(n: ISqlNames): string {
	return `WITH p AS (
	INSERT INTO ${n.pausedTable} ("type") VALUES ($1::text) ON CONFLICT ("type") DO NOTHING
	RETURNING "type"
)
SELECT pg_notify($2, ${noticePayload("pause", "$3", `p."type"`)}) FROM p`;
}
