// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { NUMBER_PROPERTIES } from "../../domain/queueProperties.js";
import type { QueuedTask } from "../../contracts/ITaskSource.js";
import type { ISettleEntry } from "./ISettleEntry.js";
import { JSON_COLUMNS, TASK_COLUMNS } from "./sql/columns.js";

/**
 * The entity's columns in table order (sql/columns.ts), re-exported for the readers of rows.
 */
export { TASK_COLUMNS };

/**
 * The numeric columns; retainUntil (BIGINT) arrives as a string.
 */
const NUMBER_COLUMNS = NUMBER_PROPERTIES;

/**
 * A row as postgres.js returns it: JSONB parsed, BIGINT as a string, NULL as null.
 */
export type TaskRow = { [column: string]: unknown };

/**
 * The task a row holds, exactly as the entity-storage path reads it through TWIN's connector:
 * NULL columns absent, numbers as numbers, and a JSONB value that is a JSON string parsed once
 * more (the entity-storage path stores a string or boolean payload/result as its JSON text, see
 * jsonColumnValue). A string that is not JSON text (written by other software) is kept as it is,
 * where TWIN's connector would throw.
 * @param row The row.
 * @returns The task.
 */
export function fromRow(row: TaskRow): BackgroundTask {
	const task: { [key: string]: unknown } = {};
	for (const column of TASK_COLUMNS) {
		const value = row[column];
		if (value !== null && value !== undefined) {
			task[column] = value;
		}
	}
	return normalised(task);
}

/**
 * fromRow for a row read as values (postgres.js `values()`), the columns in TASK_COLUMNS order:
 * the claim's rows, which postgres.js then makes as arrays rather than objects of 21 named keys.
 * @param values The row's values.
 * @returns The task.
 */
export function fromValues(values: readonly unknown[]): BackgroundTask {
	const task: { [key: string]: unknown } = {};
	for (let i = 0; i < TASK_COLUMNS.length; i++) {
		const value = values[i];
		if (value !== null && value !== undefined) {
			task[TASK_COLUMNS[i]] = value;
		}
	}
	return normalised(task);
}

/**
 * A task read from a row with its numbers and JSON columns as fromRow describes.
 * @param task The non-null columns.
 * @returns The task.
 */
function normalised(task: { [key: string]: unknown }): BackgroundTask {
	for (const column of NUMBER_COLUMNS) {
		if (typeof task[column] === "string") {
			task[column] = Number(task[column]);
		}
	}
	for (const column of JSON_COLUMNS) {
		const value = task[column];
		if (typeof value === "string") {
			try {
				task[column] = JSON.parse(value);
			} catch {
				// Not JSON text: keep the string.
			}
		}
	}
	return task as unknown as BackgroundTask;
}

/**
 * The scheduling columns of a task.
 * @param task The task.
 * @returns The queued view.
 */
export function toQueued(task: BackgroundTask): QueuedTask {
	const queued: QueuedTask = {
		id: task.id,
		type: task.type,
		threadId: task.threadId,
		status: task.status,
		dateNextProcess: task.dateNextProcess,
		dateCreated: task.dateCreated,
		dateModified: task.dateModified
	};
	if (task.priority !== undefined) {
		queued.priority = task.priority;
	}
	return queued;
}

/**
 * A settle as one entry of a settle batch: its fence and, unless it removes the task, the columns
 * a settle changes (absent ones become NULL).
 * @param task The settled task.
 * @param owner The lease owner of the claim.
 * @param claimedAt The claim's dateModified.
 * @param remove Whether the task is removed.
 * @returns The record.
 */
export function settleEntry(
	task: BackgroundTask,
	owner: string,
	claimedAt: string,
	remove: boolean
): ISettleEntry {
	if (remove) {
		return { id: task.id, owner, claimedAt, remove };
	}
	// One literal, so the entry is allocated once at its full size: it waits in the settle batch,
	// and so survives young-generation collections, until its batch is written.
	return {
		id: task.id,
		owner,
		claimedAt,
		remove,
		status: task.status,
		dateModified: task.dateModified,
		dateNextProcess: task.dateNextProcess,
		dateCancelled: task.dateCancelled,
		dateCompleted: task.dateCompleted,
		retryInterval: task.retryInterval,
		retriesRemaining: task.retriesRemaining,
		retainFor: task.retainFor,
		retainUntil: task.retainUntil,
		result: jsonColumnValue(task.result),
		error: jsonColumnValue(task.error),
		// Unchanged since the claim counted it (rules.claimed), written so the row and the task
		// agree whatever the claim path.
		attempts: task.attempts,
		// The last progress reported (by this attempt, or kept from an earlier one), NULL if none.
		progress: jsonColumnValue(task.progress)
	};
}

/**
 * The JSON value a JSONB column holds for a property value, matching what the entity-storage
 * path writes through TWIN's connector: a string or boolean is stored as its JSON text (a JSON
 * string), because that connector JSON.parses any JSONB value that comes back as a string;
 * anything else as itself. Undefined and null mean NULL.
 * @param value The property value.
 * @returns The JSON value to store, or undefined for NULL.
 */
export function jsonColumnValue(value: unknown): unknown {
	if (value === undefined || value === null) {
		return undefined;
	}
	if (typeof value === "string" || typeof value === "boolean") {
		return JSON.stringify(value);
	}
	return value;
}

/**
 * A task as one record of a JSON array parameter read with jsonb_to_recordset (insertMany):
 * every column set, JSONB columns as the value insert() stores (jsonColumnValue), absent ones
 * left out (NULL).
 * @param task The task.
 * @returns The record.
 */
export function taskRecord(task: BackgroundTask): { [column: string]: unknown } {
	const record: { [column: string]: unknown } = {};
	for (const column of TASK_COLUMNS) {
		const value = JSON_COLUMNS.includes(column) ? jsonColumnValue(task[column]) : task[column];
		if (value !== undefined && value !== null) {
			record[column] = value;
		}
	}
	return record;
}

/**
 * The text of a JSONB parameter (sent as text and cast in SQL), or null for NULL.
 * @param value The property value.
 * @returns The JSON text or null.
 */
export function jsonParameter(value: unknown): string | null {
	const stored = jsonColumnValue(value);
	return stored === undefined ? null : JSON.stringify(stored);
}

/**
 * Highest priority first (absent is 0), then earliest due, then oldest, then by id: the claim
 * order, as the claim statements' ORDER BY.
 * @param a One task.
 * @param b Another.
 * @returns The comparison.
 */
export function byClaimOrder(a: BackgroundTask, b: BackgroundTask): number {
	return (
		(b.priority ?? 0) - (a.priority ?? 0) ||
		compare(a.dateNextProcess ?? "", b.dateNextProcess ?? "") ||
		compare(a.dateCreated, b.dateCreated) ||
		compare(a.id, b.id)
	);
}

/**
 * Compare strings by code unit, as the database's "C"-like ISO text order does for these values.
 * @param a One.
 * @param b Another.
 * @returns -1, 0 or 1.
 */
function compare(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
