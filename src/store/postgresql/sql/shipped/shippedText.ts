// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// What the shipped SQL files (docs/background-task.*.sql) have in common: the table name they use
// and the indexes of the table made for TWIN's connectors.
import type { IIndex } from "../IIndex.js";
import { createIndexSql } from "../indexes.js";

/**
 * The table name the shipped files use; users replace it throughout.
 */
export const SHIPPED_TABLE = "background_task";

/**
 * The comment before the queue options' columns in the tables made for TWIN's connectors.
 */
export const QUEUE_COLUMNS_NOTE = `	-- The queue options (priority, dedupKey, retryBackoff, retryMaxInterval; attempts counted for
	-- tasks that record them), the last progress a handler reported and the OpenTelemetry trace
	-- context of the create: written only when set, NULL otherwise.`;

/**
 * The comment before the indexes of the tables made for TWIN's connectors.
 */
export const TWIN_INDEXES_NOTE = `-- The connector's queries: a type's tasks by due date, a thread's tasks by due date, tasks by
-- status, and the retained-task sweep.`;

/**
 * The index of TWIN's connectors' query by status.
 */
export const TWIN_STATUS_INDEX: IIndex = {
	suffix: "_status_created",
	keys: `"status", "dateCreated", "id"`
};

/**
 * The indexes of the tables made for TWIN's connectors: its queries by type, by thread and by
 * status, and its retained-task sweep (which scans every row with a retainUntil).
 */
export const TWIN_INDEXES: readonly IIndex[] = [
	{ suffix: "_type_due", keys: `"type", "dateNextProcess", "id"` },
	{ suffix: "_thread_due", keys: `"threadId", "dateNextProcess", "id"` },
	TWIN_STATUS_INDEX,
	{ suffix: "_retain", keys: `"retainUntil"` }
];

/**
 * The CREATE INDEX of an index on the shipped table.
 * @param index The index.
 * @param quote How the file writes a name (quoted or not).
 * @returns The statement, without a semicolon.
 */
export function shippedIndexSql(index: IIndex, quote: (name: string) => string): string {
	return createIndexSql(quote(SHIPPED_TABLE), quote(`${SHIPPED_TABLE}${index.suffix}`), index);
}

/**
 * CREATE INDEX statements of a shipped file, each ending with a semicolon, with comment (or
 * other) lines before some of them.
 * @param indexes The indexes.
 * @param quote How the file writes a name (quoted or not).
 * @param before Lines to write before an index, by suffix.
 * @returns The lines, joined.
 */
export function indexStatements(
	indexes: readonly IIndex[],
	quote: (name: string) => string,
	before: { [suffix: string]: string } = {}
): string {
	return indexes
		.map(index => {
			const statement = `${shippedIndexSql(index, quote)};`;
			return before[index.suffix] === undefined
				? statement
				: `${before[index.suffix]}\n${statement}`;
		})
		.join("\n");
}
