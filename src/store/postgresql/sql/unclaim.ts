// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Give back claimed tasks that never started: pending again, lease cleared, and the attempt
 * the claim counted taken back.
 * @param n The names.
 * @returns The statement.
 */
export function unclaimSql(n: ISqlNames): string {
	return `UPDATE ${n.table}
SET "status" = 'pending', "dateModified" = $3, "leaseOwner" = NULL, "leaseExpires" = NULL,
	"attempts" = "attempts" - 1
WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'`;
}
