// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The task table's indexes. A settle changes the due date, so it is never a HOT update: it writes
// an entry in every index that holds the new row, and so does a claim that cannot be a HOT
// update. So there are no more than the statements need, and the two on the due date hold
// active tasks only (docs/performance.md): query() by status alone scans the table.
import { derivedName } from "../postgresNames.js";
import { DEDUP_ACTIVE } from "./fragments.js";
import type { IIndex } from "./IIndex.js";

/**
 * The suffix of the dedup index's name.
 */
export const DEDUP_INDEX = "_dedup";

/**
 * The indexes the backend creates, in creation order.
 */
export const TABLE_INDEXES: readonly IIndex[] = [
	// The due-task sample by thread (dueSample, the noHandler report); active tasks only, like the
	// claim index, so the settle that makes a task final and keeps it writes neither.
	{
		suffix: "_thread_active",
		keys: `"threadId", "dateNextProcess", "id"`,
		where: `"dateNextProcess" IS NOT NULL`
	},
	// The sweep; only the rows it can remove (its own condition), so an active task (NULL) or one
	// kept forever (-1) costs the index no entry.
	{ suffix: "_retain_kept", keys: `"retainUntil"`, where: `"retainUntil" > 0` },
	// fetch and claim: type and thread, then the claim order, so a claim reads the due rows in
	// order and stops after LIMIT rows without a sort; tasks not yet due are skipped inside the
	// index (the due date is the fourth key). Only active tasks have a due date: a final task
	// costs the index no entry (its settle writes one index less), and the planner, even with
	// statistics from a moment the table held no due task, sees this index as the small one.
	{
		suffix: "_claim_due",
		keys: `"type", "threadId", (COALESCE("priority", 0)) DESC, "dateNextProcess", "dateCreated", "id"`,
		where: `"dateNextProcess" IS NOT NULL`
	},
	// A create with a dedupKey as one atomic statement across nodes (insertDedup); its condition
	// names no column a claim changes, so claims stay HOT updates (docs/performance.md).
	{ suffix: DEDUP_INDEX, keys: `"type", "dedupKey"`, unique: true, where: DEDUP_ACTIVE }
];

/**
 * The suffixes of indexes of earlier versions, dropped when the table is made ready, each with
 * what replaced it.
 */
export const LEGACY_INDEXES: [suffix: string, replacedBy: string][] = [
	["_claim", "the claim index by priority"],
	["_retain", "the retain index of retained tasks only"],
	["_claim_priority", "the claim index of active tasks only"],
	["_thread_due", "the due-sample index of active tasks only"]
];

/**
 * The fill factor of a table the backend creates: room on each page for a new version of every
 * row on it, so a claim is a HOT update (no index entries written) even when it takes all of a
 * page's rows at once, as it does with tasks created one by one, which lie on the pages in claim
 * order; the old versions cannot be pruned before the claim commits (docs/performance.md).
 */
export const FILL_FACTOR = 40;

/**
 * The statement that creates an index when missing.
 * @param tableRef The table as the statement names it (quoted or not).
 * @param indexRef The index's name as the statement names it.
 * @param index The index.
 * @returns The statement.
 */
export function createIndexSql(tableRef: string, indexRef: string, index: IIndex): string {
	return `CREATE ${index.unique === true ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${indexRef} ON ${tableRef} (${index.keys})${index.where === undefined ? "" : ` WHERE ${index.where}`}`;
}

/**
 * The names of the backend's indexes on a table.
 * @param tableName The checked table name.
 * @returns The index names.
 */
export function indexNames(tableName: string): string[] {
	return TABLE_INDEXES.map(({ suffix }) => derivedName(tableName, suffix));
}
