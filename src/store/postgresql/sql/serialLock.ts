// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Take the advisory lock of a serial type for the transaction: serial claims of one type then
 * run one at a time across nodes, each waiting for the one before it to commit.
 * @returns The statement.
 */
export function serialLockSql(): string {
	return `SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))`;
}
