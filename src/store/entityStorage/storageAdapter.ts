// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Coerce } from "@twin.org/core";
import { SortDirection, type EntityCondition } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { QUEUE_PROPERTIES, type BackgroundTask } from "../../entities/backgroundTask.js";

/**
 * The storage connector as the task store uses it, with every workaround for the known behaviour
 * of TWIN entity-storage connectors in one place:
 * - the in-memory connector hands out live references: everything read is copied and everything
 *   written is a fresh object, so no caller ever holds an object the connector owns;
 * - numbers may come back as strings (PostgreSQL BIGINT): they are coerced on read;
 * - every write names every schema property, absent ones as undefined (see toStorage): the
 *   PostgreSQL connector upserts only the columns present, so a dropped property kept its value;
 * - calls to a connector that cannot take overlapping calls run one at a time (see call): the file
 *   connector rewrites its whole file on every write and loses data when calls overlap;
 * - every query sorts by id last, so the order is total (see BY_ID): the PostgreSQL connector pages
 *   by OFFSET, and pages of an order with ties repeat some rows and skip others;
 * - a JSON string or boolean in an object column is written JSON-encoded for the PostgreSQL
 *   connector (see toStorage), which parses every such value that reads back as a string.
 * The rule that every query carries a single condition (the PostgreSQL connector numbers
 * placeholders wrongly with two or more) is enforced by the type of query's condition argument.
 */
export class StorageAdapter {
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
	 * Create a new StorageAdapter.
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
	 * Write a task (insert or replace).
	 * @param task The task; not retained.
	 */
	public async set(task: BackgroundTask): Promise<void> {
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
	 * Remove a task.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this.call(async () => this.storage.remove(id));
	}

	/**
	 * Query with at most one condition; id is appended as the last sort key.
	 * @param condition The single condition, or none.
	 * @param sort The sort keys.
	 * @param properties The properties to read, default all.
	 * @param cursor The cursor of the page.
	 * @param pageSize The page size.
	 * @returns Copies of the page's tasks and the next cursor.
	 */
	public async query(
		condition: SingleCondition | undefined,
		sort: { property: keyof BackgroundTask; sortDirection: SortDirection }[],
		properties?: (keyof BackgroundTask)[],
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		const page = await this.call(async () =>
			this.storage.query(condition, [...sort, BY_ID], properties, cursor, pageSize)
		);
		return {
			entities: page.entities.map(e => fromStorage(e as BackgroundTask) as BackgroundTask),
			cursor: page.cursor
		};
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
			// A queue option's property only when set: no new column named for a task without it.
			if (task[property] !== undefined || !QUEUE_PROPERTIES.has(property)) {
				row[property] = task[property];
			}
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
 * One comparison: the only kind of condition a query may carry.
 */
export type SingleCondition = Extract<EntityCondition<BackgroundTask>, { comparison: unknown }>;

/**
 * The columns a scan reads: what the scheduler needs to order and claim tasks. Leaving out payload,
 * result and error answers the PostgreSQL connector, which JSON.parses a JSONB value that comes
 * back as a string: reading a row with a JSON string payload or result throws, and a scan that read
 * one (written by other software, such as the original connector) would stop every task of its
 * type from running. It also keeps scans small on every connector.
 */
export const SCAN_PROPERTIES = [
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
const STRING_PARSING_CONNECTORS: ReadonlySet<string> = new Set([
	"PostgreSqlEntityStorageConnector"
]);

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
