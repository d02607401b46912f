// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Announce to every node that tasks of a type may be due; the payload "<sender>:<type>" lets
 * the sender ignore its own.
 * @returns The statement.
 */
export function notifySql(): string {
	return `SELECT pg_notify($1, $3::text || ':' || $2::text)`;
}
