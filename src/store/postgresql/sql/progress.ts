// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Write the progress a running handler reported onto its task, fenced as a settle is (lease
 * owner, status processing and the claim's dateModified), so it never writes over an outcome or
 * another node's claim. Only the progress column changes: dateModified stays the claim's, so the
 * settle's fence still holds afterwards.
 * @param n The names.
 * @returns The statement.
 */
export function progressSql(n: ISqlNames): string {
	return `UPDATE ${n.table}
SET "progress" = $2::text::jsonb
WHERE "id" = $1 AND "leaseOwner" = $3 AND "status" = 'processing' AND "dateModified" = $4
RETURNING "id"`;
}
