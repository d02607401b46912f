// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomBytes } from "node:crypto";
import { BaseError, Coerce, GeneralError, Is, type IError } from "@twin.org/core";
import { SortDirection, type EntityCondition } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { NUMBER_PROPERTIES, QUEUE_PROPERTIES } from "../../domain/queueProperties.js";
import { connectorProfile, type IConnectorProfile } from "./connectorProfiles.js";

/**
 * The storage connector as the task store uses it, with every workaround for the known behaviour
 * of TWIN entity-storage connectors in one place. What a connector supports comes from its profile
 * (connectorProfiles.ts, by CLASS_NAME; an unknown connector gets the safe default):
 * - a query carries no more sort keys than the connector takes (DynamoDB: one), and names the
 *   properties to read only where the connector escapes them (DynamoDB does not: `type` and
 *   `status` are reserved words there);
 * - object columns that come back as JSON text (the MySQL connector on MariaDB) are parsed on
 *   read, once a probe has shown that the server does so (see jsonAsText);
 * - the in-memory connector hands out live references: everything read is copied and everything
 *   written is a fresh object, so no caller ever holds an object the connector owns;
 * - numbers may come back as strings (PostgreSQL BIGINT): they are coerced on read;
 * - every write names every schema property, absent ones as undefined (see toStorage): the
 *   PostgreSQL connector upserts only the columns present, so a dropped property kept its value;
 * - calls to a connector that cannot take overlapping calls run one at a time (see call): the file
 *   connector rewrites its whole file on every write and loses data when calls overlap;
 * - every query sorts by id last, so the order is total (see BY_ID): the PostgreSQL connector pages
 *   by OFFSET, and pages of an order with ties repeat some rows and skip others; except on the
 *   in-memory and file connectors, whose stable in-process sort already keeps ties in the order
 *   tasks were stored (see STABLE_ORDER_CONNECTORS);
 * - a JSON string or boolean in an object column is written JSON-encoded for the PostgreSQL
 *   connector (see toStorage), which parses every such value that reads back as a string;
 * - a table made before this package's queue properties existed has no columns for them: a task
 *   written with one fails with a clear error naming the column and the migration (see set), and
 *   a scan that selects one drops it and retries (see TaskStore.scanActive).
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
	 * The sort keys appended to every query's: id, unless the connector's order is total already.
	 * @internal
	 */
	private readonly _lastSort: (typeof BY_ID)[];

	/**
	 * The last storage call queued while calls run one at a time.
	 * @internal
	 */
	private _tail: Promise<unknown> = Promise.resolve();

	/**
	 * What the connector supports.
	 * @internal
	 */
	private readonly _profile: IConnectorProfile;

	/**
	 * The object and array properties of the schema.
	 * @internal
	 */
	private readonly _objectProperties: (keyof BackgroundTask)[];

	/**
	 * Whether object columns come back as JSON text, once the probe has answered (see jsonAsText).
	 * @internal
	 */
	private _jsonText?: Promise<boolean>;

	/**
	 * The probe's answer once known (at once for connectors that never return text), so reads need
	 * no await for it.
	 * @internal
	 */
	private _jsonTextKnown?: boolean;

	/**
	 * Create a new StorageAdapter.
	 * @param storage The entity storage connector for background tasks.
	 */
	constructor(private readonly storage: IEntityStorageConnector<BackgroundTask>) {
		const properties = storage.getSchema().properties ?? [];
		this._profile = connectorProfile(storage.CLASS_NAME);
		this._properties = properties.map(p => p.property as keyof BackgroundTask);
		this._serialise = this._profile.serialCalls;
		this._lastSort = this._profile.stableOrder ? [] : [BY_ID];
		this._objectProperties = properties
			.filter(p => p.type === "object" || p.type === "array")
			.map(p => p.property as keyof BackgroundTask);
		this._encodeScalars = this._profile.encodeScalars ? this._objectProperties : [];
		if (!this._profile.jsonMayBeText) {
			this._jsonTextKnown = false;
		}
	}

	/**
	 * What the connector supports.
	 * @returns The connector's profile.
	 */
	public get profile(): IConnectorProfile {
		return this._profile;
	}

	/**
	 * Whether storage calls run one at a time (the file connector): writes issued together gain
	 * nothing from being issued at once.
	 * @returns True when calls are serialised.
	 */
	public get serialised(): boolean {
		return this._serialise;
	}

	/**
	 * Throw when this package cannot use the connector (its profile says why).
	 * @throws GeneralError connectorUnsupported naming the connector, the reason and the fix.
	 */
	public assertSupported(): void {
		if (this._profile.unsupported !== undefined) {
			throw new GeneralError(ERROR_SOURCE, "connectorUnsupported", {
				connector: this.storage.CLASS_NAME,
				reason: this._profile.unsupported
			});
		}
	}

	/**
	 * Write a task (insert or replace).
	 * @param task The task; not retained.
	 * @throws GeneralError queueColumnMissing when the task has a queue property whose column the
	 * store lacks (a table made before this package's queue options).
	 */
	public async set(task: BackgroundTask): Promise<void> {
		const row = this.toStorage(task);
		try {
			await this.call(async () => this.storage.set(row));
		} catch (err) {
			const column = missingColumn(err);
			if (column !== undefined && QUEUE_PROPERTIES.has(column) && row[column] !== undefined) {
				throw queueColumnMissing(column, err);
			}
			throw err;
		}
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns A copy of the task, or undefined when unknown.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		const jsonText = this._jsonTextKnown ?? (await this.jsonAsText());
		return this.fromStorage(await this.call(async () => this.storage.get(id)), jsonText);
	}

	/**
	 * Remove a task.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this.call(async () => this.storage.remove(id));
	}

	/**
	 * Query with at most one condition; id is appended as the last sort key (see BY_ID). Sort keys
	 * beyond what the connector takes are left out, and so are the properties to read where the
	 * connector cannot take them (every property is read then).
	 * @param condition The single condition, or none.
	 * @param sort The sort keys, the first one deciding.
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
		const jsonText = this._jsonTextKnown ?? (await this.jsonAsText());
		const keys = [...sort, ...this._lastSort].slice(0, this._profile.maxSortKeys);
		// No keys at all is no sort argument: the SQL connectors turn [] into an empty ORDER BY.
		const sortKeys = keys.length > 0 ? keys : undefined;
		const read = this._profile.projections ? properties : undefined;
		const page = await this.call(async () =>
			this.storage.query(condition, sortKeys, read, cursor, pageSize)
		);
		if (!Is.array(page?.entities)) {
			// The MySQL connector answers its very first call, before its connection exists, with no
			// entities at all: taken as "no tasks", it would hide every task of the page.
			throw new GeneralError(ERROR_SOURCE, "queryWithoutEntities", {
				connector: this.storage.CLASS_NAME
			});
		}
		return {
			entities: page.entities.map(
				e => this.fromStorage(e as BackgroundTask, jsonText) as BackgroundTask
			),
			cursor: page.cursor
		};
	}

	/**
	 * Whether object columns come back as their JSON text. The MySQL connector JSON-encodes them on
	 * write; MySQL's JSON type hands the value back parsed, MariaDB's (an alias of LONGTEXT) hands
	 * back the text, and nothing tells the two apart from one value (a payload that is a string
	 * looks the same either way). So a probe task is written once, read back and removed: its
	 * object payload comes back as text only on a server that returns text. Answered once per
	 * connector; a probe that fails is tried again at the next call.
	 * @returns True when object columns come back as text.
	 * @internal
	 */
	private async jsonAsText(): Promise<boolean> {
		this.assertSupported();
		this._jsonText ??= this.probeJsonText().then(
			text => (this._jsonTextKnown = text),
			err => {
				this._jsonText = undefined;
				throw err;
			}
		);
		return this._jsonText;
	}

	/**
	 * Write, read back and remove a probe task whose payload is an object.
	 * @returns True when the payload came back as a string.
	 * @internal
	 */
	private async probeJsonText(): Promise<boolean> {
		const now = new Date().toISOString();
		const probe = {
			id: randomBytes(16).toString("hex"),
			type: PROBE_TYPE,
			threadId: PROBE_TYPE,
			status: "cancelled",
			dateCreated: now,
			dateModified: now,
			dateCancelled: now,
			payload: { probe: true }
		} as unknown as BackgroundTask;
		await this.call(async () => this.storage.set(this.toStorage(probe)));
		try {
			const read = await this.call(async () => this.storage.get(probe.id));
			return typeof read?.payload === "string";
		} finally {
			await this.call(async () => this.storage.remove(probe.id));
		}
	}

	/**
	 * Copy an entity read from storage: null columns dropped, numeric columns that some connectors
	 * return as strings coerced (PostgreSQL BIGINT), object columns returned as JSON text parsed.
	 * @param stored The entity as the connector returned it.
	 * @param jsonText Whether object columns come back as JSON text.
	 * @returns A copy safe to change.
	 * @internal
	 */
	private fromStorage(
		stored: BackgroundTask | undefined,
		jsonText: boolean
	): BackgroundTask | undefined {
		const task = fromStorage(stored);
		if (task && jsonText) {
			for (const key of this._objectProperties) {
				const value = task[key];
				if (typeof value === "string") {
					(task as unknown as { [key: string]: unknown })[key] = JSON.parse(value);
				}
			}
		}
		return task;
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
		const omitAbsent = this._profile.absentAs === "omit";
		for (const property of this._properties) {
			// A queue option's property only when set: no new column named for a task without it.
			if (task[property] !== undefined || (!omitAbsent && !QUEUE_PROPERTIES.has(property))) {
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
		this.assertSupported();
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
 * Columns a scan reads when the store has them: this package's queue properties the scheduler
 * orders by. A table made before they existed lacks their columns, and the PostgreSQL connector
 * fails a query that selects a missing column, so the scan drops one the store reports missing
 * and reads without it (see TaskStore.scanActive).
 */
export const OPTIONAL_SCAN_PROPERTIES = [
	"priority"
] as const satisfies readonly (keyof BackgroundTask)[];

/**
 * A task as a scan reads it: the scheduling columns only.
 */
export type ScannedTask = Pick<BackgroundTask, (typeof SCAN_PROPERTIES)[number]> &
	Partial<Pick<BackgroundTask, (typeof OPTIONAL_SCAN_PROPERTIES)[number]>>;

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

/**
 * The last sort key of every query: ids are unique, so the order is total and a cursor walks each
 * task once. Answers the PostgreSQL connector, whose cursor is an OFFSET into an ORDER BY: with ties
 * (tasks created in the same millisecond share dateCreated) the database may order the tied rows
 * differently for each page, so pages repeated some tasks and skipped others.
 */
const BY_ID = { property: "id", sortDirection: SortDirection.Ascending } as const;

/**
 * The type and thread of the probe task (see StorageAdapter.jsonAsText): no handler has it.
 */
const PROBE_TYPE = "twin-fast:json-probe";

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
	for (const key of NUMBER_PROPERTIES) {
		if (task[key] !== undefined) {
			task[key] = Coerce.number(task[key]);
		}
	}
	return task;
}
