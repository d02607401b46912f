// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Vacuum the task table (TableUpkeep). SKIP_LOCKED: when autovacuum or another node is vacuuming
 * it, this one does nothing rather than wait. INDEX_CLEANUP ON: on a table much larger than its
 * dead rows PostgreSQL would otherwise skip the indexes, and the claim index's dead entries are
 * what this is for. TRUNCATE false: giving back the table's empty end takes a lock that would
 * stop every claim and settle meanwhile. Each option needs PostgreSQL 12 or later.
 * @param n The names.
 * @returns The statement.
 */
export function vacuumSql(n: ISqlNames): string {
	return `VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON, TRUNCATE false) ${n.table}`;
}

/**
 * The table's dead rows by the server's statistics (what autovacuum reads too; every node's
 * settles count, reported within about a second), and whether this session may vacuum it:
 * PostgreSQL 12 or later (for vacuumSql's options), and the role owns the table or the database,
 * or is a superuser (pg_has_role is true for one). Any other role's VACUUM only warns and does
 * nothing.
 * @returns The statement ($1, the quoted table name); one row, "dead" and "allowed".
 */
export function deadRowsSql(): string {
	return `SELECT pg_stat_get_dead_tuples(c."oid") AS "dead",
	current_setting('server_version_num')::int >= 120000
	AND (pg_has_role(c."relowner", 'USAGE') OR pg_has_role(d."datdba", 'USAGE')) AS "allowed"
FROM pg_class AS c, pg_database AS d
WHERE c."oid" = to_regclass($1) AND d."datname" = current_database()`;
}
