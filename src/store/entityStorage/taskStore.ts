// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Is } from "@twin.org/core";
import { ComparisonOperator, SortDirection } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../entities/backgroundTask.js";
import { KeyedLock } from "./keyedLock.js";
import {
	SCAN_PROPERTIES,
	StorageAdapter,
	type ScannedTask,
	type SingleCondition
} from "./storageAdapter.js";

/**
 * Tasks read per page while sweeping: large pages, since every page of the in-memory connector
 * sorts the whole store.
 */
const SWEEP_PAGE_SIZE = 1000;

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
	 * The storage connector, with the connector workarounds.
	 * @internal
	 */
	private readonly _storage: StorageAdapter;

	/**
	 * Create a new TaskStore.
	 * @param storage The entity storage connector for background tasks.
	 */
	constructor(storage: IEntityStorageConnector<BackgroundTask>) {
		this._storage = new StorageAdapter(storage);
	}

	/**
	 * Store a new task.
	 * @param task The task, owned by the store from now on.
	 */
	public async insert(task: BackgroundTask): Promise<void> {
		await this._storage.set(task);
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
	 * dateNextProcess ascending puts due work first on every connector, final tasks (which have no
	 * dateNextProcess) last, so the scan stops at the first task without one. Only the columns the
	 * scheduler needs are read (see SCAN_PROPERTIES in storageAdapter.ts).
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
		let cursor: string | undefined;
		do {
			const page = await this._storage.query(
				condition,
				[{ property: "dateNextProcess", sortDirection: SortDirection.Ascending }],
				[...SCAN_PROPERTIES],
				cursor,
				limit
			);
			for (const task of page.entities) {
				if (!Is.stringValue(task.dateNextProcess)) {
					return { tasks, complete: true };
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

/**
 * A single equality condition.
 * @param property The property.
 * @param value The value.
 * @returns The condition.
 */
function equals(property: keyof BackgroundTask, value: unknown): SingleCondition {
	return { property, comparison: ComparisonOperator.Equals, value };
}
