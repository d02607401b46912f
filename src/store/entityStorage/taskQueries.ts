// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import { Is } from "@twin.org/core";
import type { ITaskPage, ITaskQuery } from "../../contracts/ITaskQuery.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { equals } from "./queryShape.js";
import type { StorageAdapter } from "./storageAdapter.js";
import { missingColumn, queueColumnMissing } from "./storageErrors.js";

/**
 * Tasks read per page while looking for the active task of a dedupKey: the key's tasks are few
 * (one active, and the final ones still retained).
 */
const DEDUP_PAGE_SIZE = 100;

/**
 * The store's look-ups by a filter: a page of the public query, and the active task of a
 * dedupKey. Each query carries a single condition and filters the rest here in code.
 */
export class TaskQueries {
	/**
	 * Create a new TaskQueries.
	 * @param storage The storage connector, with the connector workarounds.
	 */
	constructor(private readonly storage: StorageAdapter) {}

	/**
	 * Query tasks for the public query method. With both filters the storage query carries the
	 * status condition and the type is filtered here, so a page may hold fewer than pageSize
	 * tasks; a page is never empty while a cursor remains.
	 * @param query The filters, the order and the page.
	 * @returns The page of tasks and the cursor of the next page.
	 */
	public async page(query: ITaskQuery): Promise<ITaskPage> {
		const { type, status, sortProperty, sortDirection, cursor, pageSize } = query;
		const condition = Is.stringValue(status)
			? equals("status", status)
			: Is.stringValue(type)
				? equals("type", type)
				: undefined;
		const inCode = Is.stringValue(status) && Is.stringValue(type);
		let next = cursor;
		do {
			const page = await this.storage.query(
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
	 * The id of a pending or processing task of a type with a dedupKey. One condition (the key),
	 * reading only id, type and status; type and status are checked here.
	 * @param type The task type.
	 * @param key The dedupKey.
	 * @returns The active task's id, or undefined when there is none.
	 * @throws GeneralError queueColumnMissing when the store has no dedupKey column.
	 */
	public async activeWithKey(type: string, key: string): Promise<string | undefined> {
		let cursor: string | undefined;
		do {
			let page: { entities: BackgroundTask[]; cursor?: string };
			try {
				page = await this.storage.query(
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
}
