// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Coerce, Is } from "@twin.org/core";
import { ComparisonOperator, SortDirection, type EntityCondition } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../entities/backgroundTask.js";
import { KeyedLock } from "./keyedLock.js";

/**
 * Tasks read per page while sweeping: large pages, since every page of the in-memory connector
 * sorts the whole store.
 */
const SWEEP_PAGE_SIZE = 1000;

/**
 * Every storage call of the package. Portability rules, for every TWIN entity-storage connector:
 * - one condition per storage query; any further filter runs in code here
 *   (the PostgreSQL connector numbers placeholders wrongly with two or more conditions);
 * - never mutate an entity that came from storage: the in-memory connector hands out live
 *   references, so everything read is copied and everything written is a fresh object;
 * - numbers may come back as strings (PostgreSQL BIGINT), so they are coerced on read;
 * - every write names every schema property, absent ones as undefined (see toStorage): the
 *   PostgreSQL connector upserts only the columns present, so a dropped property kept its value;
 * - calls to a connector that cannot take overlapping calls run one at a time (see call): the file
 *   connector rewrites its whole file on every write and loses data when calls overlap;
 * - every query sorts by id last, so the order is total (see BY_ID): the PostgreSQL connector pages
 *   by OFFSET, and pages of an order with ties repeat some rows and skip others;
 * - a JSON string or boolean in an object column is written JSON-encoded for the PostgreSQL
 *   connector (see toStorage), which parses every such value that reads back as a string.
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
	 * The schema properties, each written on every set (see toStorage).
	 * @internal
	 */
	private readonly _properties: (keyof BackgroundTask)[];

	/**
	 * Whether storage calls must run one at a time (see call).
	 * @internal
	 */
	private readonly _serialise: boolean;

	/**
	 * The object columns whose JSON strings and booleans are written JSON-encoded (see toStorage);
	 * empty for connectors that store them as they are.
	 * @internal
	 */
	private readonly _encodeScalars: (keyof BackgroundTask)[];

	/**
	 * The last storage call queued while calls run one at a time.
	 * @internal
	 */
	private _tail: Promise<unknown> = Promise.resolve();

	/**
	 * Create a new TaskStore.
	 * @param storage The entity storage connector for background tasks.
	 */
	constructor(private readonly storage: IEntityStorageConnector<BackgroundTask>) {
		const properties = storage.getSchema().properties ?? [];
		this._properties = properties.map(p => p.property as keyof BackgroundTask);
		this._serialise = SERIAL_CONNECTORS.has(storage.CLASS_NAME);
		this._encodeScalars = STRING_PARSING_CONNECTORS.has(storage.CLASS_NAME)
			? properties
					.filter(p => p.type === "object" || p.type === "array")
					.map(p => p.property as keyof BackgroundTask)
			: [];
	}

	/**
	 * Store a new task.
	 * @param task The task, owned by the store from now on.
	 */
	public async insert(task: BackgroundTask): Promise<void> {
		await this.call(async () => this.storage.set(this.toStorage(task)));
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns A copy of the task, or undefined when unknown.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		return fromStorage(await this.call(async () => this.storage.get(id)));
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
	 * @returns False when the task was removed while it ran, so nothing was written.
	 */
	public async settle(task: BackgroundTask, remove: boolean): Promise<boolean> {
		return this._lock.run(task.id, async () => {
			const removed = this._removedWhileClaimed.has(task.id);
			if (!removed) {
				await this.write(task, remove);
			}
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
			await this.call(async () => this.storage.remove(id));
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
			const page = await this.call(async () =>
				this.storage.query(
					condition,
					[{ property: sortProperty, sortDirection }, BY_ID],
					undefined,
					next,
					pageSize
				)
			);
			const entities = mapPage(page.entities).filter(t => !inCode || t.type === type);
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
	 * scheduler needs are read (see SCAN_PROPERTIES).
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
			const page = await this.call(async () =>
				this.storage.query(
					condition,
					[{ property: "dateNextProcess", sortDirection: SortDirection.Ascending }, BY_ID],
					[...SCAN_PROPERTIES],
					cursor,
					limit
				)
			);
			for (const task of mapPage(page.entities)) {
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
			const page = await this.call(async () =>
				this.storage.query(
					{ property: "retainUntil", comparison: ComparisonOperator.GreaterThan, value: 0 },
					[BY_ID],
					["id", "status", "retainUntil"],
					cursor,
					SWEEP_PAGE_SIZE
				)
			);
			for (const task of mapPage(page.entities)) {
				if (isExpired(task)) {
					expired.push(task.id);
				}
			}
			cursor = page.cursor;
		} while (Is.stringValue(cursor));
		for (const id of expired) {
			await this.remove(id);
			removed++;
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
			await this.call(async () => this.storage.remove(task.id));
		} else {
			await this.call(async () => this.storage.set(this.toStorage(task)));
		}
	}

	/**
	 * A fresh object for the connector holding every schema property, those the task lacks as
	 * undefined. Answers the PostgreSQL connector, whose set is an upsert of only the columns present
	 * in the object: a property the task dropped (dateNextProcess, error, retriesRemaining after
	 * success) kept its old value in the row. Connectors turn undefined into NULL or leave it out.
	 * @param task The task.
	 * @returns The object to write.
	 * @internal
	 */
	private toStorage(task: BackgroundTask): BackgroundTask {
		const row: { [key: string]: unknown } = {};
		for (const property of this._properties) {
			row[property] = task[property];
		}
		// Answers the PostgreSQL connector: reading a JSONB column it JSON.parses any value that comes
		// back as a string, so a payload or result "hello" could not be read back (the row broke every
		// get, query and remove of the task) and "42" came back as 42; and it sends a boolean as a
		// boolean, which a JSONB column refuses. Written as its JSON text, the value reads back as
		// itself through that same parse.
		for (const property of this._encodeScalars) {
			const value = row[property];
			if (typeof value === "string" || typeof value === "boolean") {
				row[property] = JSON.stringify(value);
			}
		}
		return row as unknown as BackgroundTask;
	}

	/**
	 * Make one storage call, one at a time when the connector needs it. Answers the file connector,
	 * whose every call reads the whole JSON file and every write rewrites it without a lock: two
	 * overlapping calls lose one another's writes, and a read during a write sees a torn file, takes
	 * it as empty and the next write drops every task.
	 * @param op The storage call.
	 * @returns The result of the call.
	 * @internal
	 */
	private async call<T>(op: () => Promise<T>): Promise<T> {
		if (!this._serialise) {
			return op();
		}
		const result = this._tail.then(op, op);
		this._tail = result.catch(() => undefined);
		return result;
	}
}

/**
 * The columns a scan reads: what the scheduler needs to order and claim tasks. Leaving out payload,
 * result and error answers the PostgreSQL connector, which JSON.parses a JSONB value that comes
 * back as a string: reading a row with a JSON string payload or result throws, and a scan that read
 * one (written by other software, such as the original connector) would stop every task of its
 * type from running. It also keeps scans small on every connector.
 */
const SCAN_PROPERTIES = [
	"id",
	"type",
	"threadId",
	"status",
	"dateCreated",
	"dateModified",
	"dateNextProcess"
] as const satisfies readonly (keyof BackgroundTask)[];

/**
 * A task as a scan reads it: the scheduling columns only.
 */
export type ScannedTask = Pick<BackgroundTask, (typeof SCAN_PROPERTIES)[number]>;

/**
 * The last sort key of every query: ids are unique, so the order is total and a cursor walks each
 * task once. Answers the PostgreSQL connector, whose cursor is an OFFSET into an ORDER BY: with ties
 * (tasks created in the same millisecond share dateCreated) the database may order the tied rows
 * differently for each page, so pages repeated some tasks and skipped others.
 */
const BY_ID = { property: "id", sortDirection: SortDirection.Ascending } as const;

/**
 * Connectors (by CLASS_NAME) whose calls must not overlap: the file connector read-modify-writes
 * its whole file on every call.
 */
const SERIAL_CONNECTORS: ReadonlySet<string> = new Set(["FileEntityStorageConnector"]);

/**
 * Connectors (by CLASS_NAME) that JSON.parse every object column read back as a string.
 */
const STRING_PARSING_CONNECTORS: ReadonlySet<string> = new Set(["PostgreSqlEntityStorageConnector"]);

/**
 * A single equality condition.
 * @param property The property.
 * @param value The value.
 * @returns The condition.
 */
function equals(property: keyof BackgroundTask, value: unknown): EntityCondition<BackgroundTask> {
	return { property, comparison: ComparisonOperator.Equals, value };
}

/**
 * Copy a page of stored entities.
 * @param entities The entities as the connector returned them.
 * @returns Copies with numbers coerced.
 */
function mapPage(entities: Partial<BackgroundTask>[]): BackgroundTask[] {
	return entities.map(e => fromStorage(e as BackgroundTask) as BackgroundTask);
}

/**
 * Copy an entity read from storage, coercing numeric columns that some connectors return as
 * strings (PostgreSQL returns BIGINT as a string) and dropping null columns.
 * @param stored The entity as the connector returned it.
 * @returns A copy safe to change.
 */
function fromStorage(stored: BackgroundTask | undefined): BackgroundTask | undefined {
	if (!stored) {
		return undefined;
	}
	const task = { ...stored };
	for (const key of Object.keys(task) as (keyof BackgroundTask)[]) {
		if (task[key] === null) {
			delete task[key];
		}
	}
	for (const key of ["retryInterval", "retriesRemaining", "retainFor", "retainUntil"] as const) {
		if (task[key] !== undefined) {
			task[key] = Coerce.number(task[key]);
		}
	}
	return task;
}
