// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";
import { noticePayload } from "./notify.js";

/**
 * Ask the owner of processing task $1 to stop it with reason $2, and tell every node, in one
 * statement: the notice ("<sender>/abort:<id>") is sent exactly when the request commits, and
 * only when the task was processing. The owner also finds the request at its next heartbeat, so a
 * lost notice only delays it. Returns a row when the task was processing.
 * @param n The names.
 * @returns The statement.
 */
export function requestAbortSql(n: ISqlNames): string {
	return `WITH a AS (
	UPDATE ${n.table} SET "abortReason" = $2::text
	WHERE "id" = $1 AND "status" = 'processing'
	RETURNING "id"
)
SELECT pg_notify($3, ${noticePayload("abort", "$4", `a."id"`)}) FROM a`;
}

/**
 * The abort reason of task $1 while owner $2 holds it processing: how an owner that got a notice
 * reads what it was asked.
 * @param n The names.
 * @returns The statement.
 */
export function abortReasonSql(n: ISqlNames): string {
	return `SELECT "abortReason" FROM ${n.table}
WHERE "id" = $1 AND "leaseOwner" = $2 AND "status" = 'processing' AND "abortReason" IS NOT NULL`;
}
