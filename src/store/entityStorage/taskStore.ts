// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Is } from "@twin.org/core";
import { ComparisonOperator, SortDirection } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { KeyedLock } from "./keyedLock.js";
import { equals, type SingleCondition } from "./queryShape.js";
import { OPTIONAL_SCAN_PROPERTIES, SCAN_PROPERTIES, type ScannedTask } from "./scanColumns.js";
import { StorageAdapter } from "./storageAdapter.js";
import { isUniqueViolation, missingColumn, queueColumnMissing } from "./storageErrors.js";

/**
 * Tasks read per page while sweeping or counting: large pages, since every page of the in-memory
 * connector sorts the whole store.
 */
const SWEEP_PAGE_SIZE = 1000;

/**
 * Tasks read per page while looking for the active task of a dedupKey: the key's tasks are few
 * (one active, and the final ones still retained).
 */
const DEDUP_PAGE_SIZE = 100;

/**
 * Writes in flight at once while storing a batch on a connector that takes overlapping calls.
 */
const INSERT_WINDOW = 16;

/**
 * Every storage operation on tasks: insert, read, claim, settle, update, remove, query, scan and
 * sweep. Each query carries a single condition and filters the rest here in code; connector
 * workarounds (copies, coercion, full-row writes, serialised calls) live in StorageAdapter.
 * Read-modify-write sequences on one task run under a per-task lock, so a cancel, retry or
 * remove never interleaves with a claim or completion of the same task in this instance.
 */
export class TaskStore {
	/**
	 * The tasks this instance has claimed and not yet settled.
	 * @internal
	 */
	private readonly _claimed = new Set<string>();

	/**
	 * Claimed tasks removed while running: their outcome must not be written back.
	 * @internal
	 */
	private readonly _removedWhileClaimed = new Set<string>();

	/**
	 * Serialises read-modify-write on one task.
	 * @internal
	 */
	private readonly _lock = new KeyedLock();

	/**
	 * Serialises inserts of one type and dedupKey.
	 * @internal
	 */
	private readonly _dedupLock = new KeyedLock();

	/**
	 * The storage connector, with the connector workarounds.
	 * @internal
	 */
	private readonly _storage: StorageAdapter;

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
	 * Create a new TaskStore.
	 * @param storage The entity storage connector for background tasks.
	 */
	constructor(storage: IEntityStorageConnector<BackgroundTask>) {
		this._storage = new StorageAdapter(storage);
	}

	/**
	 * Throw when this package cannot use the connector.
	 */
	public assertSupported(): void {
		this._storage.assertSupported();
	}

	/**
	 * Store a new task.
	 * @param task The task, owned by the store from now on.
	 */
	public async insert(task: BackgroundTask): Promise<void> {
		await this._storage.set(task);
	}

	/**
	 * Store a new task unless it has a dedupKey and a task of the same type and key is pending or
	 * processing: then that task's id is returned and nothing is written.
	 *
	 * Correct within this instance: the look-up and the write run under a lock per type and key,
	 * so concurrent creates here with one key store one task. The entity-storage interface has no
	 * conditional insert, so two instances on one store could each store one; this source
	 * supports one instance per store anyway (see EntityStorageTaskSource), and the native
	 * PostgreSQL backend dedups in one statement. Where the store refuses the write by a unique
	 * index (the shipped PostgreSQL table's partial index on type and dedupKey of active tasks),
	 * the refused write means another writer stored the key's task first: its id is returned.
	 * @param task The task, owned by the store from now on.
	 * @returns The id of the task stored, or of the active task with its type and dedupKey.
	 * @throws GeneralError queueColumnMissing when the store has no dedupKey column (a PostgreSQL
	 * table made before this package's queue options: run the migration).
	 */
	public async insertDeduped(task: BackgroundTask): Promise<string> {
		const key = task.dedupKey;
		if (key === undefined) {
			await this.insert(task);
			return task.id;
		}
		return this._dedupLock.run(`${task.type}\u0000${key}`, async () => {
			const active = await this.findActive(task.type, key);
			if (active !== undefined) {
				return active;
			}
			try {
				await this.insert(task);
			} catch (err) {
				const winner = isUniqueViolation(err) ? await this.findActive(task.type, key) : undefined;
				if (winner === undefined) {
					throw err;
				}
				return winner;
			}
			return task.id;
		});
	}

	/**
	 * Change a task for retry(): as update, except that a failed task with a dedupKey is left
	 * alone while another task of its type and key is pending or processing (that task stands for
	 * it, as it would for a create), so a key never has two active tasks.
	 * @param id The task id.
	 * @param change The change (rules.retriedNow).
	 * @returns The task as written, or undefined when nothing changed.
	 */
	public async retry(
		id: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask | undefined> {
		// The task's lock first, as update() takes it: a retry() called before a claim is ordered
		// before that claim (and one called during the run sees it processing), never after the
		// settle of the run it preceded. The key's lock is taken inside it; nothing takes them in
		// the other order (a create with a dedupKey takes only the key's lock).
		return this._lock.run(id, async () => {
			const current = await this.get(id);
			if (!current) {
				return undefined;
			}
			const key = current.dedupKey;
			const apply = async (): Promise<BackgroundTask | undefined> => {
				const next = change(current);
				if (next) {
					await this.write(next, false);
				}
				return next;
			};
			if (key === undefined || current.status !== TaskStatus.Failed) {
				return apply();
			}
			return this._dedupLock.run(`${current.type}\u0000${key}`, async () =>
				(await this.findActive(current.type, key)) === undefined ? apply() : undefined
			);
		});
	}

	/**
	 * Store new tasks. The entity-storage interface has no batch write, so this is one write per
	 * task: issued in order, a few at a time on a connector that takes overlapping calls, one at a
	 * time on one that does not (the file connector, which rewrites its whole file per write). Not
	 * atomic: when a write fails, the tasks before it (and some issued with it) are stored and the
	 * error is thrown.
	 * @param tasks The tasks, owned by the store from now on.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		const window = this._storage.serialised ? 1 : INSERT_WINDOW;
		for (let i = 0; i < tasks.length; i += window) {
			// Settled, not raced: when a write fails, the call ends with no write still in flight.
			const results = await Promise.allSettled(
				tasks.slice(i, i + window).map(async t => this._storage.set(t))
			);
			const failed = results.find(r => r.status === "rejected");
			if (failed) {
				throw failed.reason;
			}
		}
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
			const page = await this._storage.query(
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
	 * Read a task.
	 * @param id The task id.
	 * @returns A copy of the task, or undefined when unknown.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		return this._storage.get(id);
	}

	/**
	 * Read, change and write one task under its lock.
	 * @param id The task id.
	 * @param change Returns the new task, or undefined to leave it as it is.
	 * @param remove Whether the changed task should be removed rather than written.
	 * @returns The task as written, or undefined when nothing changed.
	 */
	public async update(
		id: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined,
		remove?: (task: BackgroundTask) => boolean
	): Promise<BackgroundTask | undefined> {
		return this._lock.run(id, async () => {
			const current = await this.get(id);
			const next = current ? change(current) : undefined;
			if (next) {
				await this.write(next, remove?.(next) ?? false);
			}
			return next;
		});
	}

	/**
	 * Claim a task: the one place where pending turns into processing, so a database-specific
	 * atomic claim can replace it when several nodes share one database. The task is re-read so
	 * a change made through storage or another instance is seen.
	 * @param id The task id.
	 * @param change Returns the claimed task, or undefined when the task may not be claimed.
	 * @returns The claimed task, or undefined.
	 */
	public async claim(
		id: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask | undefined> {
		const task = await this.update(id, change);
		if (task) {
			this._claimed.add(id);
		}
		return task;
	}

	/**
	 * Record the outcome of a claimed task, unless it was removed while running.
	 * @param task The settled task.
	 * @param remove True to remove it (retainFor 0) rather than write it.
	 * @param claimedAt The claim's dateModified, when this is a repeat of a write that failed: the
	 * failed write may have committed before it threw, and a cancel() or retry() may have changed
	 * the task since, so the write is repeated only while storage still holds the claim.
	 * @returns False when nothing was written because the task was removed while it ran.
	 */
	public async settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		return this._lock.run(task.id, async () => {
			let write = !this._removedWhileClaimed.has(task.id);
			if (write && claimedAt !== undefined) {
				const current = await this.get(task.id);
				write = current?.status === TaskStatus.Processing && current.dateModified === claimedAt;
			}
			if (write) {
				await this.write(task, remove);
			}
			const removed = this._removedWhileClaimed.has(task.id);
			this._claimed.delete(task.id);
			this._removedWhileClaimed.delete(task.id);
			return !removed;
		});
	}

	/**
	 * Forget a claim without recording anything (the instance stopped while it ran): the task
	 * stays processing in storage and the next start recovers it.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._claimed.delete(id);
		this._removedWhileClaimed.delete(id);
	}

	/**
	 * Remove a task whatever its status. A claimed task is not written back when it finishes.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this._lock.run(id, async () => {
			await this._storage.remove(id);
			if (this._claimed.has(id)) {
				this._removedWhileClaimed.add(id);
			}
		});
	}

	/**
	 * Query tasks for the public query method. With both filters the storage query carries the
	 * status condition and the type is filtered here, so a page may hold fewer than pageSize
	 * tasks; a page is never empty while a cursor remains.
	 * @param type The type to match.
	 * @param status The status to match.
	 * @param sortProperty The property to sort by.
	 * @param sortDirection The sort direction.
	 * @param cursor The cursor from the previous page.
	 * @param pageSize The page size.
	 * @returns The page of tasks and the cursor of the next page.
	 */
	public async query(
		type: string | undefined,
		status: string | undefined,
		sortProperty: keyof BackgroundTask,
		sortDirection: SortDirection,
		cursor: string | undefined,
		pageSize: number | undefined
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		const condition = Is.stringValue(status)
			? equals("status", status)
			: Is.stringValue(type)
				? equals("type", type)
				: undefined;
		const inCode = Is.stringValue(status) && Is.stringValue(type);
		let next = cursor;
		do {
			const page = await this._storage.query(
				condition,
				[{ property: sortProperty, sortDirection }],
				undefined,
				next,
				pageSize
			);
			const entities = page.entities.filter(t => !inCode || t.type === type);
			next = page.cursor;
			if (entities.length > 0 || !Is.stringValue(next)) {
				return { entities, cursor: next };
			}
		} while (true);
	}

	/**
	 * Read a batch of one type's active tasks (pending or processing) owned by this thread, earliest
	 * due first. One condition (type); the thread and status filter run here. Sorting by
	 * dateNextProcess ascending puts due work first. Final tasks have no dateNextProcess: where the
	 * connector sorts them last (or leaves them out) the scan stops at the first one; where they
	 * sort first (MySQL, MariaDB) or nobody knows, it reads past them. Only the columns the
	 * scheduler needs are read where the connector can (see SCAN_PROPERTIES in storageAdapter.ts).
	 * @param type The task type.
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
			this._storage.profile.missingSortValues !== "first" &&
			this._storage.profile.missingSortValues !== "unknown";
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
	 * Change every task of a thread that the change accepts (adoptTasks). The thread's task ids are
	 * read first, every page, and changed after: a change moves a task out of the condition, which
	 * would shift an offset cursor past tasks not yet read. Each task is re-read under its lock.
	 * @param threadId The thread whose tasks to change.
	 * @param change Returns the changed task, or undefined to leave it.
	 * @returns The tasks as written.
	 */
	public async adopt(
		threadId: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask[]> {
		const ids: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await this._storage.query(
				equals("threadId", threadId),
				[],
				["id", "status", "threadId"],
				cursor,
				SWEEP_PAGE_SIZE
			);
			for (const task of page.entities) {
				if (task.status === TaskStatus.Pending || task.status === TaskStatus.Processing) {
					ids.push(task.id);
				}
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor));
		const written: BackgroundTask[] = [];
		for (const id of ids) {
			const task = await this.update(id, change);
			if (task) {
				written.push(task);
			}
		}
		return written;
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
			const page = await this._storage.query(
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
			const gone = await this._lock.run(id, async () => {
				const current = await this.get(id);
				if (current && isExpired(current)) {
					await this._storage.remove(id);
					return true;
				}
				return false;
			});
			removed += gone ? 1 : 0;
		}
		return removed;
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
				return await this._storage.query(
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

	/**
	 * The id of a pending or processing task of a type with a dedupKey. One condition (the key),
	 * reading only id, type and status; type and status are checked here.
	 * @param type The task type.
	 * @param key The dedupKey.
	 * @returns The active task's id, or undefined when there is none.
	 * @throws GeneralError queueColumnMissing when the store has no dedupKey column.
	 * @internal
	 */
	private async findActive(type: string, key: string): Promise<string | undefined> {
		let cursor: string | undefined;
		do {
			let page: { entities: BackgroundTask[]; cursor?: string };
			try {
				page = await this._storage.query(
					equals("dedupKey", key),
					[],
					["id", "type", "status"],
					cursor,
					DEDUP_PAGE_SIZE
				);
			} catch (err) {
				if (missingColumn(err) === "dedupKey") {
					throw queueColumnMissing("dedupKey", err);
				}
				throw err;
			}
			const active = page.entities.find(
				t =>
					t.type === type && (t.status === TaskStatus.Pending || t.status === TaskStatus.Processing)
			);
			if (active) {
				return active.id;
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor));
		return undefined;
	}

	/**
	 * Write or remove a task.
	 * @param task The task.
	 * @param remove True to remove it instead.
	 * @internal
	 */
	private async write(task: BackgroundTask, remove: boolean): Promise<void> {
		if (remove) {
			await this._storage.remove(task.id);
		} else {
			await this._storage.set(task);
		}
	}
}
