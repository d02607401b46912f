// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The parts the two serial claims (fetchSerial, claimSerial) share. A serial claim runs in a
// transaction that first takes the type's advisory lock (serialLock), so claims of a type are one
// at a time across all nodes and each one's snapshot, taken after the lock, sees the claim before
// it.
import { DB_NOW_MS } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * The condition that no task of a serial type is processing under a live lease (a dead node's
 * lease expires, so it cannot hold the type forever). Every serial claim records the task it
 * took in the serial table, so only that task can be running: the gate reads it by key, whatever
 * the backlog. A type with no record yet (its first serial claim, or tasks claimed before the
 * table existed) is checked by a scan of its rows.
 * @param n The names.
 * @param type The SQL expression of the type.
 * @returns The condition.
 */
export function serialGate(n: ISqlNames, type: string): string {
	return `NOT EXISTS (
		SELECT 1 FROM ${n.serialTable} AS s JOIN ${n.table} AS h ON h."id" = s."taskId"
		WHERE s."type" = ${type} AND h."status" = 'processing' AND h."leaseExpires" >= ${DB_NOW_MS}
	) AND (EXISTS (SELECT 1 FROM ${n.serialTable} AS s WHERE s."type" = ${type}) OR NOT EXISTS (
		SELECT 1 FROM ${n.table} AS r
		WHERE r."type" = ${type} AND r."status" = 'processing' AND r."leaseExpires" >= ${DB_NOW_MS}
	))`;
}

/**
 * A serial claim that records the task it took as its type's holder in the serial table, in the
 * same statement, and returns the claimed rows.
 * @param n The names.
 * @param claim The claiming UPDATE ... RETURNING.
 * @returns The statement.
 */
export function holding(n: ISqlNames, claim: string): string {
	return `WITH c AS (
${claim}
), h AS (
	INSERT INTO ${n.serialTable} ("type", "taskId") SELECT "type", "id" FROM c
	ON CONFLICT ("type") DO UPDATE SET "taskId" = EXCLUDED."taskId"
)
SELECT * FROM c`;
}
