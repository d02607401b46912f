// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Is } from "@twin.org/core";
import { ComparisonOperator, SortDirection } from "@twin.org/entity";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { equals, type ISortKey, type SingleCondition } from "./queryShape.js";
import { OPTIONAL_SCAN_PROPERTIES, SCAN_PROPERTIES, type ScannedTask } from "./scanColumns.js";
import type { StorageAdapter } from "./storageAdapter.js";
import { missingColumn } from "./storageErrors.js";
import type { TaskStore } from "./taskStore.js";

/**
 * Tasks read per page while sweeping, adopting or counting: large pages, since every page of the
 * in-memory connector sorts the whole store.
 */
const SWEEP_PAGE_SIZE = 1000;

/**
 * The store's paged reads over many tasks: the scheduler's scans of active tasks, counts, the
 * sweep of expired tasks and the adoption of a departed instance's tasks. Each page carries a
 * single condition and filters the rest here in code; what a scan may rely on (where tasks
 * without a due date sort, which columns exist) comes from the connector's profile and from the
 * store's errors. Changes to single tasks go through TaskStore, under the task's lock.
 */
export class TaskScans {
	/**
	 * The columns scans read: SCAN_PROPERTIES and those OPTIONAL_SCAN_PROPERTIES the store has not
	 * reported missing.
	 * @internal
	 */
	private _scanProperties: (keyof BackgroundTask)[] = [
		...SCAN_PROPERTIES,
		...OPTIONAL_SCAN_PROPERTIES
	];

	/**
	 * Create a new TaskScans.
	 * @param storage The storage connector, with the connector workarounds.
	 * @param store The single-task operations, for changes under a task's lock.
	 */
	constructor(
		private readonly storage: StorageAdapter,
		private readonly store: TaskStore
	) {}

	/**
	 * Read a batch of one type's active tasks (pending or processing) owned by this thread, earliest
	 * due first. One condition (type); the thread and status filter run here. Final tasks have no
	 * dateNextProcess: where the connector sorts them last (or leaves them out) the scan stops at
	 * the first one; where they sort first (MySQL, MariaDB) or nobody knows, it reads past them.
	 * Only the scan columns are read where the connector can (see scanColumns.ts).
	 * @param type The task type, or undefined for every type of the thread.
	 * @param threadId The owning thread.
	 * @param limit How many tasks to return at most.
	 * @returns The tasks, and complete=true when every active task of the type was seen.
	 */
	public async scanActive(
		type: string | undefined,
		threadId: string,
		limit: number
	): Promise<{ tasks: ScannedTask[]; complete: boolean }> {
		const condition = Is.stringValue(type) ? equals("type", type) : equals("threadId", threadId);
		const tasks: ScannedTask[] = [];
		const missingLast =
			this.storage.profile.missingSortValues !== "first" &&
			this.storage.profile.missingSortValues !== "unknown";
		let cursor: string | undefined;
		do {
			const page = await this.scanPage(condition, cursor, limit);
			for (const task of page.entities) {
				if (!Is.stringValue(task.dateNextProcess)) {
					if (missingLast) {
						return { tasks, complete: true };
					}
					continue;
				}
				if (
					task.threadId === threadId &&
					(task.status === TaskStatus.Pending || task.status === TaskStatus.Processing)
				) {
					tasks.push(task);
				}
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor) && tasks.length < limit);
		return { tasks, complete: !Is.stringValue(cursor) };
	}

	/**
	 * Count tasks per type and status by a bounded scan: pages of tasks (all, or one type's by a
	 * single condition) reading only "type" and "status", stopping once maxScan tasks were read.
	 * The counts are a snapshot only as far as the store's paging is: tasks created, changed or
	 * removed during the scan may be counted under an old status, missed or counted twice (the
	 * PostgreSQL connector pages by OFFSET). Each page costs what a page of the connector costs
	 * (the in-memory and file connectors sort the whole store per page), hence the bound.
	 * @param type Only this type, when set.
	 * @param maxScan The most tasks read.
	 * @returns The counts, and complete=false when tasks beyond the first maxScan exist.
	 */
	public async counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		const condition = Is.stringValue(type) ? equals("type", type) : undefined;
		const counts: { [type: string]: { [status: string]: number } } = {};
		const bound = Math.max(0, Math.floor(maxScan));
		let read = 0;
		let cursor: string | undefined;
		do {
			const left = bound - read;
			// One more than is left: a task beyond the bound says complete=false, whatever the
			// connector's cursor (some return one after a page that ended exactly at the last task).
			const page = await this.storage.query(
				condition,
				[],
				["type", "status"],
				cursor,
				Math.min(SWEEP_PAGE_SIZE, left + 1)
			);
			for (const task of page.entities) {
				if (read === bound) {
					return { counts, complete: false };
				}
				read++;
				const byStatus = (counts[task.type] ??= {});
				byStatus[task.status] = (byStatus[task.status] ?? 0) + 1;
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor));
		return { counts, complete: true };
	}

	/**
	 * Change every task of a thread that the change accepts (adoptTasks). The thread's task ids are
	 * read first (idsOf) and changed after, each re-read under its lock.
	 * @param threadId The thread whose tasks to change.
	 * @param change Returns the changed task, or undefined to leave it.
	 * @returns The tasks as written.
	 */
	public async adopt(
		threadId: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask[]> {
		const ids = await this.idsOf(
			equals("threadId", threadId),
			[],
			["id", "status", "threadId"],
			task => task.status === TaskStatus.Pending || task.status === TaskStatus.Processing
		);
		return writtenOf(ids, async id => this.store.update(id, change));
	}

	/**
	 * Retry failed tasks (retryFailed), oldest failure first: their ids are read first (idsOf; one
	 * condition, the status, the type filtered here), up to limit, and each is retried after
	 * through TaskStore.retry, under its lock and its dedupKey's; a task no longer failed by then
	 * is left as it is.
	 * @param type Only this type, when set.
	 * @param limit At most this many, when set.
	 * @param change The retry (rules.failedRetried).
	 * @returns The tasks as written.
	 */
	public async retryFailed(
		type: string | undefined,
		limit: number | undefined,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask[]> {
		const ids = await this.idsOf(
			equals("status", TaskStatus.Failed),
			[{ property: "dateModified", sortDirection: SortDirection.Ascending }],
			["id", "type", "status"],
			task => task.status === TaskStatus.Failed && (type === undefined || task.type === type),
			limit
		);
		return writtenOf(ids, async id => this.store.retry(id, change));
	}

	/**
	 * Remove final tasks whose retain date has passed.
	 * @param isExpired Decides from status and retainUntil whether a task has expired.
	 * @returns How many tasks were removed.
	 */
	public async sweep(
		isExpired: (task: Pick<BackgroundTask, "status" | "retainUntil">) => boolean
	): Promise<number> {
		let removed = 0;
		let cursor: string | undefined;
		const expired: string[] = [];
		do {
			// One condition: retainUntil > 0 (retainUntil -1 keeps forever); status and date in code.
			const page = await this.storage.query(
				{ property: "retainUntil", comparison: ComparisonOperator.GreaterThan, value: 0 },
				[],
				["id", "status", "retainUntil"],
				cursor,
				SWEEP_PAGE_SIZE
			);
			for (const task of page.entities) {
				if (isExpired(task)) {
					expired.push(task.id);
				}
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor));
		for (const id of expired) {
			// Checked again under the task's lock: a retry() since the page was read keeps it.
			removed += (await this.store.removeIfStill(id, isExpired)) ? 1 : 0;
		}
		return removed;
	}

	/**
	 * The ids of the tasks a condition and a test select, every page read before any is changed:
	 * a change may move a task out of the condition, which would shift an offset cursor past tasks
	 * not yet read.
	 * @param condition The single condition.
	 * @param sort The order, when it matters (which tasks a limit keeps).
	 * @param properties The properties the test reads.
	 * @param accept The test, in code.
	 * @param limit At most this many ids, when set.
	 * @returns The ids, in the order read.
	 * @internal
	 */
	private async idsOf(
		condition: SingleCondition,
		sort: ISortKey[],
		properties: (keyof BackgroundTask)[],
		accept: (task: BackgroundTask) => boolean,
		limit = Number.POSITIVE_INFINITY
	): Promise<string[]> {
		const ids: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await this.storage.query(condition, sort, properties, cursor, SWEEP_PAGE_SIZE);
			for (const task of page.entities) {
				if (ids.length < limit && accept(task)) {
					ids.push(task.id);
				}
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor) && ids.length < limit);
		return ids;
	}

	/**
	 * One page of a scan, by due date, reading the scan's columns. A queue column the store
	 * reports missing (a PostgreSQL table made before this package's queue options) is dropped from
	 * this instance's scans and the page read again at once; any other error is thrown.
	 * @param condition The scan's single condition.
	 * @param cursor The page's cursor.
	 * @param pageSize The page size.
	 * @returns The page.
	 * @internal
	 */
	private async scanPage(
		condition: SingleCondition,
		cursor: string | undefined,
		pageSize: number
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		do {
			const properties = this._scanProperties;
			try {
				return await this.storage.query(
					condition,
					[{ property: "dateNextProcess", sortDirection: SortDirection.Ascending }],
					[...properties],
					cursor,
					pageSize
				);
			} catch (err) {
				const column = missingColumn(err);
				if (
					column === undefined ||
					!properties.includes(column) ||
					!(OPTIONAL_SCAN_PROPERTIES as readonly string[]).includes(column)
				) {
					throw err;
				}
				this._scanProperties = this._scanProperties.filter(p => p !== column);
			}
		} while (true);
	}
}

/**
 * Change tasks one after the other.
 * @param ids The task ids.
 * @param change Changes one task under its lock: the task as written, or undefined when left.
 * @returns The tasks as written, in the order of the ids.
 */
async function writtenOf(
	ids: string[],
	change: (id: string) => Promise<BackgroundTask | undefined>
): Promise<BackgroundTask[]> {
	const written: BackgroundTask[] = [];
	for (const id of ids) {
		const task = await change(id);
		if (task) {
			written.push(task);
		}
	}
	return written;
}
