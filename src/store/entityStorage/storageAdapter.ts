// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError, Is } from "@twin.org/core";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { QUEUE_PROPERTIES } from "../../domain/queueProperties.js";
import { connectorProfile, type IConnectorProfile } from "./connectorProfiles.js";
import { JsonTextProbe, probeJsonText } from "./jsonTextProbe.js";
import { QueryShape, type ISortKey, type SingleCondition } from "./queryShape.js";
import { RowCodec } from "./rowCodec.js";
import { ERROR_SOURCE, missingColumn, queueColumnMissing } from "./storageErrors.js";

/**
 * The storage connector as the task store uses it, with every workaround for the known behaviour
 * of TWIN entity-storage connectors behind it, chosen by the connector's profile
 * (connectorProfiles.ts; an unknown connector gets the safe default). Rows are copied and coerced
 * by RowCodec, queries shaped by QueryShape, JSON text detected by JsonTextProbe; calls run one at
 * a time where the connector needs it. See docs/storage-backends.md for each connector's quirks.
 */
export class StorageAdapter {
	/**
	 * Whether storage calls must run one at a time (see call).
	 * @internal
	 */
	private readonly _serialise: boolean;

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
	 * Makes rows to write and copies rows read.
	 * @internal
	 */
	private readonly _codec: RowCodec;

	/**
	 * The sort keys and properties each query may carry.
	 * @internal
	 */
	private readonly _shape: QueryShape;

	/**
	 * Whether object columns come back as JSON text.
	 * @internal
	 */
	private readonly _jsonText: JsonTextProbe;

	/**
	 * Create a new StorageAdapter.
	 * @param storage The entity storage connector for background tasks.
	 */
	constructor(private readonly storage: IEntityStorageConnector<BackgroundTask>) {
		this._profile = connectorProfile(storage.CLASS_NAME);
		this._codec = new RowCodec(storage.getSchema(), this._profile);
		this._shape = new QueryShape(this._profile);
		this._serialise = this._profile.serialCalls;
		this._jsonText = new JsonTextProbe(this._profile.jsonMayBeText, () =>
			probeJsonText(this.storage, this._codec, op => this.call(op))
		);
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
		const row = this._codec.toStorage(task);
		try {
			const direct = this.direct();
			await (direct ? direct.set(row) : this.call(async () => this.storage.set(row)));
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
		const jsonText = this._jsonText.known ?? (await this.jsonAsText());
		const direct = this.direct();
		const stored = await (direct ? direct.get(id) : this.call(async () => this.storage.get(id)));
		return this._codec.fromStorage(stored, jsonText);
	}

	/**
	 * Remove a task.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		const direct = this.direct();
		await (direct ? direct.remove(id) : this.call(async () => this.storage.remove(id)));
	}

	/**
	 * Query with at most one condition, shaped for the connector (see QueryShape): id appended as
	 * the last sort key where needed, sort keys beyond what the connector takes left out, and the
	 * properties to read left out where it cannot take them (every property is read then).
	 * @param condition The single condition, or none.
	 * @param sort The sort keys, the first one deciding.
	 * @param properties The properties to read, default all.
	 * @param cursor The cursor of the page.
	 * @param pageSize The page size.
	 * @returns Copies of the page's tasks and the next cursor.
	 */
	public async query(
		condition: SingleCondition | undefined,
		sort: ISortKey[],
		properties?: (keyof BackgroundTask)[],
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		const jsonText = this._jsonText.known ?? (await this.jsonAsText());
		const sortKeys = this._shape.sortKeys(sort);
		const read = this._shape.properties(properties);
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
				e => this._codec.fromStorage(e as BackgroundTask, jsonText) as BackgroundTask
			),
			cursor: page.cursor
		};
	}

	/**
	 * Whether object columns come back as JSON text (see JsonTextProbe).
	 * @returns True when object columns come back as text.
	 * @internal
	 */
	private async jsonAsText(): Promise<boolean> {
		this.assertSupported();
		return this._jsonText.answer();
	}

	/**
	 * The connector, to call at once without the queue of call(), unless calls run one at a time.
	 * The calls of every task go through here, and call()'s closure and two promises were a
	 * measurable part of them.
	 * @returns The connector, or undefined when calls must go through call().
	 * @internal
	 */
	private direct(): IEntityStorageConnector<BackgroundTask> | undefined {
		this.assertSupported();
		return this._serialise ? undefined : this.storage;
	}

	/**
	 * Make one storage call, one at a time when the connector needs it: the file connector reads
	 * and rewrites its whole file without a lock, so overlapping calls lose writes or read a torn
	 * file.
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
