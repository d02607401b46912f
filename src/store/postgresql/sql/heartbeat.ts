// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { LEASE_END, LOCKED_ROWS } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Renew the leases of the tasks an owner holds. SKIP LOCKED: a row locked by this node's own
 * settle in flight (which clears the lease itself) is not waited for; waiting made the heartbeat
 * and a batched settle, on two connections of one node, deadlock on rows locked in different
 * orders. Each row comes back with its abortReason, so an abort(id) whose notice was lost is
 * still acted on by the owner.
 * @param n The names.
 * @returns The statement.
 */
export function heartbeatSql(n: ISqlNames): string {
	return `UPDATE ${n.table} AS t
SET "leaseExpires" = ${LEASE_END("$3")}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${n.table}
	WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'
	ORDER BY "id"
	FOR UPDATE SKIP LOCKED`)}
RETURNING t."id", t."abortReason"`;
}
