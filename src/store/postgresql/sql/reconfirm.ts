// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { LEASE_END } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Renew the lease of one task still held as claimed, fenced by owner, status and the claim's
 * dateModified so a claim taken over meanwhile is not renewed.
 * @param n The names.
 * @returns The statement.
 */
export function reconfirmSql(n: ISqlNames): string {
	return `UPDATE ${n.table}
SET "leaseExpires" = ${LEASE_END("$4")}
WHERE "id" = $1 AND "leaseOwner" = $2 AND "status" = 'processing' AND "dateModified" = $3
RETURNING "id"`;
}
