// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Coerce } from "@twin.org/core";
import type { IEntitySchema } from "@twin.org/entity";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { NUMBER_PROPERTIES, QUEUE_PROPERTIES } from "../../domain/queueProperties.js";
import type { IConnectorProfile } from "./connectorProfiles.js";

/**
 * Turns tasks into the rows a connector writes and rows read back into tasks, with the copying
 * and coercion each connector needs. Every row written and every task read is a fresh object, so
 * no caller ever holds an object the connector owns (the in-memory connector hands out live
 * references).
 */
export class RowCodec {
	/**
	 * The schema properties, each written on every set (see toStorage).
	 * @internal
	 */
	private readonly _properties: (keyof BackgroundTask)[];

	/**
	 * The object and array properties of the schema.
	 * @internal
	 */
	private readonly _objectProperties: (keyof BackgroundTask)[];

	/**
	 * The object columns whose JSON strings and booleans are written JSON-encoded (see toStorage);
	 * empty for connectors that store them as they are.
	 * @internal
	 */
	private readonly _encodeScalars: (keyof BackgroundTask)[];

	/**
	 * Whether a property the task lacks is left out of the row rather than written as undefined.
	 * @internal
	 */
	private readonly _omitAbsent: boolean;

	/**
	 * Whether rows are built by ownRow: the schema is this package's and absent properties are
	 * written as undefined.
	 * @internal
	 */
	private readonly _ownRow: boolean;

	/**
	 * Create a new RowCodec.
	 * @param schema The connector's schema for background tasks.
	 * @param profile What the connector supports.
	 */
	constructor(schema: IEntitySchema, profile: IConnectorProfile) {
		const properties = schema.properties ?? [];
		this._properties = properties.map(p => p.property as keyof BackgroundTask);
		this._objectProperties = properties
			.filter(p => p.type === "object" || p.type === "array")
			.map(p => p.property as keyof BackgroundTask);
		this._encodeScalars = profile.encodeScalars ? this._objectProperties : [];
		this._omitAbsent = profile.absentAs === "omit";
		this._ownRow =
			!this._omitAbsent &&
			this._properties.length === OWN_ROW_PROPERTIES.length &&
			this._properties.every((p, i) => p === OWN_ROW_PROPERTIES[i]);
	}

	/**
	 * A fresh object for the connector holding every schema property, those the task lacks as
	 * undefined (or left out where the profile says so). The PostgreSQL connector's set upserts
	 * only the columns present, so a property the task dropped would keep its old value.
	 * @param task The task.
	 * @returns The object to write.
	 */
	public toStorage(task: BackgroundTask): BackgroundTask {
		const row = this._ownRow ? ownRow(task) : this.schemaRow(task);
		// The PostgreSQL connector JSON.parses an object column that reads back as a string and
		// refuses a boolean: written as its JSON text, the value reads back as itself.
		for (const property of this._encodeScalars) {
			const value = row[property];
			if (typeof value === "string" || typeof value === "boolean") {
				row[property] = JSON.stringify(value);
			}
		}
		return row as unknown as BackgroundTask;
	}

	/**
	 * The row of toStorage for any schema, property by property.
	 * @param task The task.
	 * @returns The row.
	 * @internal
	 */
	private schemaRow(task: BackgroundTask): { [key: string]: unknown } {
		const row: { [key: string]: unknown } = {};
		for (const property of this._properties) {
			// A queue option's property only when set: no new column named for a task without it.
			if (task[property] !== undefined || (!this._omitAbsent && !QUEUE_PROPERTIES.has(property))) {
				row[property] = task[property];
			}
		}
		return row;
	}

	/**
	 * Copy an entity read from storage: null columns dropped, numeric columns that some connectors
	 * return as strings coerced (PostgreSQL BIGINT), object columns returned as JSON text parsed.
	 * @param stored The entity as the connector returned it.
	 * @param jsonText Whether object columns come back as JSON text.
	 * @returns A copy safe to change.
	 */
	public fromStorage(
		stored: BackgroundTask | undefined,
		jsonText: boolean
	): BackgroundTask | undefined {
		const task = copyRow(stored);
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
}

/**
 * The properties of this package's schema in its order, as ownRow writes them: the queue
 * options' properties (QUEUE_PROPERTIES) last. Any other schema gets schemaRow.
 */
const OWN_ROW_PROPERTIES: readonly (keyof BackgroundTask)[] = [
	"id",
	"type",
	"threadId",
	"retryInterval",
	"retriesRemaining",
	"dateCreated",
	"dateModified",
	"dateNextProcess",
	"dateCancelled",
	"dateCompleted",
	"retainFor",
	"retainUntil",
	"status",
	"payload",
	"result",
	"error",
	"priority",
	"dedupKey",
	"retryBackoff",
	"retryMaxInterval",
	"attempts",
	"progress",
	"traceContext"
];

/**
 * The row of schemaRow for this package's schema (absent properties written as undefined, queue
 * options' only when set), as one object literal: the loop's keyed reads and one-by-one property
 * additions were the largest part of each write.
 * @param task The task.
 * @returns The row, its properties in the schema's order.
 */
function ownRow(task: BackgroundTask): { [key: string]: unknown } {
	const row: { [key: string]: unknown } = {
		id: task.id,
		type: task.type,
		threadId: task.threadId,
		retryInterval: task.retryInterval,
		retriesRemaining: task.retriesRemaining,
		dateCreated: task.dateCreated,
		dateModified: task.dateModified,
		dateNextProcess: task.dateNextProcess,
		dateCancelled: task.dateCancelled,
		dateCompleted: task.dateCompleted,
		retainFor: task.retainFor,
		retainUntil: task.retainUntil,
		status: task.status,
		payload: task.payload,
		result: task.result,
		error: task.error
	};
	if (task.priority !== undefined) {
		row.priority = task.priority;
	}
	if (task.dedupKey !== undefined) {
		row.dedupKey = task.dedupKey;
	}
	if (task.retryBackoff !== undefined) {
		row.retryBackoff = task.retryBackoff;
	}
	if (task.retryMaxInterval !== undefined) {
		row.retryMaxInterval = task.retryMaxInterval;
	}
	if (task.attempts !== undefined) {
		row.attempts = task.attempts;
	}
	if (task.progress !== undefined) {
		row.progress = task.progress;
	}
	if (task.traceContext !== undefined) {
		row.traceContext = task.traceContext;
	}
	return row;
}

/**
 * Copy an entity read from storage, coercing numeric columns that some connectors return as
 * strings (PostgreSQL returns BIGINT as a string) and dropping null columns.
 * @param stored The entity as the connector returned it.
 * @returns A copy safe to change.
 */
function copyRow(stored: BackgroundTask | undefined): BackgroundTask | undefined {
	if (!stored) {
		return undefined;
	}
	const task = { ...stored };
	// Keys walked without Object.keys' array, and finite numbers (Coerce.number returns them as
	// they are) left alone: this runs on every read of every task.
	for (const key in task) {
		if (task[key as keyof BackgroundTask] === null) {
			delete task[key as keyof BackgroundTask];
		}
	}
	for (const key of NUMBER_PROPERTIES) {
		const value = task[key];
		if (value !== undefined && !Number.isFinite(value)) {
			task[key] = Coerce.number(value);
		}
	}
	return task;
}
