// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { createHash } from "node:crypto";
import { MAX_IDENTIFIER_LENGTH } from "../../config/postgresConfig.js";

/**
 * The SQLSTATE of a unique violation.
 */
export const UNIQUE_VIOLATION = "23505";

/**
 * Quote an identifier for SQL. Only ever given the checked table name and names derived from it
 * (letters, digits, underscores), so quoting cannot be escaped; quotes are doubled regardless.
 * @param name The identifier.
 * @returns The quoted identifier.
 */
export function quoteIdentifier(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A name derived from the table name (an index, the notification channel), kept within the 63
 * characters PostgreSQL keeps: a longer one is shortened with a hash of the whole, so two derived
 * names never collide after the server truncates them.
 * @param tableName The table name.
 * @param suffix The suffix, starting with an underscore.
 * @returns The name.
 */
export function derivedName(tableName: string, suffix: string): string {
	const name = `${tableName}${suffix}`;
	if (name.length <= MAX_IDENTIFIER_LENGTH) {
		return name;
	}
	const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
	return `${tableName.slice(0, MAX_IDENTIFIER_LENGTH - suffix.length - 9)}_${hash}${suffix}`;
}

/**
 * The notification channel on which creates and retries of tasks in the table are announced.
 * @param tableName The table name.
 * @returns The channel name.
 */
export function channelName(tableName: string): string {
	return derivedName(tableName, "_due");
}

/**
 * The name of the table of rate-limit windows beside a task table.
 * @param tableName The checked table name.
 * @returns The name.
 */
export function rateTableName(tableName: string): string {
	return derivedName(tableName, "_rate");
}

/**
 * The name of the table beside a task table that names, per serial type, the task its last
 * serial claim took: the claim's running-task check reads that task by its key instead of
 * scanning the type's rows.
 * @param tableName The checked table name.
 * @returns The name.
 */
export function serialTableName(tableName: string): string {
	return derivedName(tableName, "_serial");
}

/**
 * The name of the table beside a task table that lists the paused types: every node's claims
 * skip their tasks.
 * @param tableName The checked table name.
 * @returns The name.
 */
export function pausedTableName(tableName: string): string {
	return derivedName(tableName, "_paused");
}

/**
 * The name of the table beside a task table that keeps the recurring tasks' schedules
 * (schedule()), shared by every node.
 * @param tableName The checked table name.
 * @returns The name.
 */
export function schedulesTableName(tableName: string): string {
	return derivedName(tableName, "_schedules");
}
