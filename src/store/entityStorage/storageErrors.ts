// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError, GeneralError, Is, type IError } from "@twin.org/core";
import type { BackgroundTask } from "../../domain/backgroundTask.js";

/**
 * The source named in this folder's errors: "entityStorageTaskSource.<key>".
 */
export const ERROR_SOURCE = "EntityStorageTaskSource";

/**
 * The migration that adds the queue properties' columns to an existing PostgreSQL table.
 */
const MIGRATION = "docs/background-task.postgresql-migrate.sql";

/**
 * The messages of a missing column, the column name captured (see missingColumn).
 */
const MISSING_COLUMN_PATTERNS: readonly RegExp[] = [
	/column "([^"]+)"(?: of relation "[^"]+")? does not exist/i,
	/unknown column '(?:[^'.]+\.)?([^'.]+)'/i,
	/no such column: (?:\w+\.)?(\w+)/i,
	/has no column named (\w+)/i,
	/undefined column name (\w+)/i
];

/**
 * The messages of a write refused by a unique index: PostgreSQL, MySQL, SQLite, MongoDB.
 */
const UNIQUE_VIOLATION_PATTERNS: readonly RegExp[] = [
	/duplicate key value violates unique constraint/i,
	/duplicate entry .* for key/i,
	/unique constraint failed/i,
	/E11000 duplicate key/i
];

/**
 * The messages of an error and its inner errors.
 * @param err The error.
 * @returns The messages, outermost first.
 */
function errorMessages(err: unknown): string[] {
	const messages: string[] = [];
	try {
		for (let e: IError | undefined = BaseError.fromError(err).toJsonObject(); e; e = e.inner) {
			if (Is.stringValue(e.message)) {
				messages.push(e.message);
			}
		}
	} catch {
		// An error that cannot be read is of no known kind.
	}
	return messages;
}

/**
 * Whether a storage error says a write was refused by a unique index.
 * @param err The error a storage call threw.
 * @returns True for a unique violation.
 */
export function isUniqueViolation(err: unknown): boolean {
	return errorMessages(err).some(m => UNIQUE_VIOLATION_PATTERNS.some(p => p.test(m)));
}

/**
 * The column a storage error says does not exist, from the messages of the error and its inner
 * errors: PostgreSQL (`column "x" does not exist`, `column "x" of relation "t" does not exist`),
 * MySQL (`Unknown column 'x'`), SQLite (`no such column: x`, `has no column named x`) and
 * Cassandra/ScyllaDB (`Undefined column name x`).
 * @param err The error a storage call threw.
 * @returns The column name, or undefined when the error is of another kind.
 */
export function missingColumn(err: unknown): keyof BackgroundTask | undefined {
	for (const message of errorMessages(err)) {
		for (const pattern of MISSING_COLUMN_PATTERNS) {
			const match = pattern.exec(message);
			if (match) {
				return match[1] as keyof BackgroundTask;
			}
		}
	}
	return undefined;
}

/**
 * The error for a queue option used on a store without its column.
 * @param column The missing column.
 * @param err The storage error.
 * @returns The error, naming the column and the migration.
 */
export function queueColumnMissing(column: string, err: unknown): GeneralError {
	return new GeneralError(
		ERROR_SOURCE,
		"queueColumnMissing",
		{ column, migration: MIGRATION },
		err
	);
}
