// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISettleEntry } from "./ISettleEntry.js";
import { arrayLiteral } from "./postgresConnection.js";
import { isSharedField, SETTLE_FIELDS } from "./sql/settle.js";

/**
 * The most statement shapes (which fields are shared) one instance uses: a batch of any other
 * shape sends every field as an array. Each shape is a statement postgres.js prepares on each
 * connection, and real batches come in a handful of shapes (a success with no result, a success
 * with one, a retry, a mix).
 */
export const MAX_SETTLE_SHAPES = 32;

/**
 * A settle field's value as its parameter sends it: JSONB values as JSON text, NULL as null.
 * @param entry The entry.
 * @param name The field.
 * @param type The field's SQL type.
 * @returns The value.
 */
function fieldValue(entry: ISettleEntry, name: string, type: string): unknown {
	const value = entry[name];
	if (value === undefined || value === null) {
		return null;
	}
	return type === "jsonb" ? JSON.stringify(value) : value;
}

/**
 * The fields every entry of a batch holds the same value of, which the settle statement takes as
 * one parameter each rather than an array (settleSql): bit i for SETTLE_FIELDS[i], never the id.
 * A JSON object or array (a result, an error) is never taken as shared: comparing it would cost
 * what sharing saves. A batch of one task shares nothing: it has nothing to gain.
 * @param entries The batch.
 * @returns The bits.
 */
export function sharedFields(entries: readonly ISettleEntry[]): number {
	if (entries.length < 2) {
		return 0;
	}
	let shared = 0;
	const first = entries[0];
	for (let i = 1; i < SETTLE_FIELDS.length; i++) {
		const name = SETTLE_FIELDS[i][0];
		const value = first[name] ?? null;
		if (typeof value === "object" && value !== null) {
			continue;
		}
		let same = true;
		for (let k = 1; k < entries.length && same; k++) {
			same = (entries[k][name] ?? null) === value;
		}
		if (same) {
			shared |= 1 << i;
		}
	}
	return shared;
}

/**
 * A settle batch as the settle statement's parameters (settleSql): an array literal for each
 * field not shared, in field order, then the shared fields' values as text (or null), in field
 * order.
 * @param entries The batch.
 * @param shared The shared fields (sharedFields, or 0).
 * @returns The parameters.
 */
export function settleParams(entries: readonly ISettleEntry[], shared: number): (string | null)[] {
	const arrays: (string | null)[] = [];
	const scalars: (string | null)[] = [];
	for (let i = 0; i < SETTLE_FIELDS.length; i++) {
		const [name, type] = SETTLE_FIELDS[i];
		if (isSharedField(shared, i)) {
			const value = fieldValue(entries[0], name, type);
			scalars.push(
				value === null ? null : typeof value === "boolean" ? (value ? "t" : "f") : String(value)
			);
		} else {
			arrays.push(arrayLiteral(entries.map(e => fieldValue(e, name, type))));
		}
	}
	return arrays.concat(scalars);
}

/**
 * The settle statements of one instance by shape (updates, removals, shared fields), each made
 * once: at most MAX_SETTLE_SHAPES, and the three that share nothing.
 */
export class SettleShapes {
	/**
	 * The statements by shape key.
	 * @internal
	 */
	private readonly _texts = new Map<number, string>();

	/**
	 * Create the cache.
	 * @param make Makes the statement of a shape (PostgresStatements.settle).
	 */
	constructor(
		private readonly make: (updates: boolean, removals: boolean, shared: number) => string
	) {}

	/**
	 * The statement for a batch and the fields it shares: the ones asked for, or none once
	 * MAX_SETTLE_SHAPES other shapes are in use.
	 * @param updates Whether the batch has tasks to write.
	 * @param removals Whether the batch has tasks to remove.
	 * @param shared The fields the batch shares (sharedFields).
	 * @returns The statement and the fields its parameters share.
	 */
	public statement(
		updates: boolean,
		removals: boolean,
		shared: number
	): { text: string; shared: number } {
		const kinds = (updates ? 1 : 0) | (removals ? 2 : 0);
		let key = kinds + shared * 4;
		if (!this._texts.has(key) && this._texts.size >= MAX_SETTLE_SHAPES) {
			shared = 0;
			key = kinds;
		}
		let text = this._texts.get(key);
		if (text === undefined) {
			text = this.make(updates, removals, shared);
			this._texts.set(key, text);
		}
		return { text, shared };
	}
}
