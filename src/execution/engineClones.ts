// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { serialize } from "node:v8";
import { isPlainObject } from "../domain/jsonValue.js";

/**
 * How long the pool trusts that the engine's clone data is unchanged when the engine hands back
 * the same objects, ms: past it, the next job serializes them again and compares the bytes, so a
 * change made in place reaches the workers within this long.
 */
export const ENGINE_CLONE_RECHECK_MS = 1000;

/**
 * What a worker-mode job carries in place of its engine clone data (handlerWorker.cjs rebuilds
 * it): every field but `state`, serialized once into shared memory under a version each worker
 * deserializes once, and the state itself, which the engine changes in place and so travels with
 * every message as before.
 */
export interface IEngineCloneRef {
	/**
	 * The version of the shared part; a worker that holds it deserializes nothing.
	 */
	version: number;

	/**
	 * The shared part, as node:v8 serializes `{ keys, parts }`: the clone data's keys in order and
	 * its fields but `state`.
	 */
	shared: SharedArrayBuffer;

	/**
	 * The clone data's `state`.
	 */
	state: unknown;
}

/**
 * The shared part last made, and what it was made from.
 */
interface ISharedPart {
	/**
	 * Its version.
	 */
	version: number;

	/**
	 * The serialized bytes in shared memory, as jobs carry them (and a new serialization is
	 * compared with).
	 */
	shared: SharedArrayBuffer;

	/**
	 * The clone data it was made from (its fields are compared by identity).
	 */
	source: Record<string, unknown>;

	/**
	 * When its fields were last serialized and compared, performance.now() ms.
	 */
	checkedAt: number;

	/**
	 * The last reference handed out, reused while the state is the same object, so the jobs of
	 * one message share it and it is cloned once.
	 */
	ref: IEngineCloneRef;
}

/**
 * The engine clone data of a pool's jobs. A TWIN engine's clone data holds its whole config, type
 * initialisers and entity schemas (tens of KB in a node), and a message to a worker is a
 * structured clone: sent with every job, it cost the main thread more than everything else a
 * task needs (docs/performance.md, "A node's engine"). The engine hands back the same objects from
 * call to call, so they are serialized once and each worker deserializes them once.
 */
export class EngineClones {
	/**
	 * The shared part last made.
	 * @internal
	 */
	private _last?: ISharedPart;

	/**
	 * What a job carries for its clone data: a reference when the data is a plain object whose
	 * fields can be serialized; undefined to send the data itself (anything else, which the
	 * message's structured clone then handles or rejects as before).
	 * @param cloneData The clone data from the engine.
	 * @returns The reference, or undefined.
	 */
	public refFor(cloneData: unknown): IEngineCloneRef | undefined {
		if (!isPlainObject(cloneData)) {
			return undefined;
		}
		try {
			return this.refOf(cloneData);
		} catch {
			// A getter that throws, say: the job carries the data itself, as before.
			return undefined;
		}
	}

	/**
	 * The reference of a plain object's clone data.
	 * @param cloneData The clone data.
	 * @returns The reference, or undefined when a field cannot be serialized.
	 * @internal
	 */
	private refOf(cloneData: Record<string, unknown>): IEngineCloneRef | undefined {
		const now = performance.now();
		const last = this._last;
		if (last !== undefined && now - last.checkedAt < ENGINE_CLONE_RECHECK_MS) {
			if (cloneData === last.source) {
				return refWithState(last, cloneData.state);
			}
			if (sameFields(last.source, cloneData)) {
				// The jobs made with this clone data (the scheduler reuses it for a millisecond)
				// then take the first test.
				last.source = cloneData;
				return refWithState(last, cloneData.state);
			}
		}
		const keys = Object.keys(cloneData);
		const parts: Record<string, unknown> = {};
		for (const key of keys) {
			if (key !== "state") {
				parts[key] = cloneData[key];
			}
		}
		let bytes: Buffer;
		try {
			bytes = serialize({ keys, parts });
		} catch {
			return undefined;
		}
		if (last !== undefined && bytes.equals(new Uint8Array(last.shared))) {
			last.source = cloneData;
			last.checkedAt = now;
			return refWithState(last, cloneData.state);
		}
		const shared = new SharedArrayBuffer(bytes.length);
		new Uint8Array(shared).set(bytes);
		const version = (last?.version ?? 0) + 1;
		this._last = {
			version,
			shared,
			source: cloneData,
			checkedAt: now,
			ref: { version, shared, state: cloneData.state }
		};
		return this._last.ref;
	}
}

/**
 * The part's reference for a state, reused while the state is the same object.
 * @param part The shared part.
 * @param state The clone data's state.
 * @returns The reference.
 */
function refWithState(part: ISharedPart, state: unknown): IEngineCloneRef {
	if (part.ref.state !== state) {
		part.ref = { version: part.version, shared: part.shared, state };
	}
	return part.ref;
}

/**
 * Whether two clone datas have the same keys in the same order and, but for `state`, the same
 * field values: the same object, or plain objects holding the same objects (an engine builds its
 * map of entity schemas anew on each call).
 * @param a The one.
 * @param b The other.
 * @returns True if so.
 */
function sameFields(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	const keys = Object.keys(b);
	if (Object.keys(a).length !== keys.length) {
		return false;
	}
	for (const key of keys) {
		if (key === "state") {
			continue;
		}
		const x = a[key];
		const y = b[key];
		if (
			!Object.hasOwn(a, key) ||
			(x !== y && !(isPlainObject(x) && isPlainObject(y) && sameEntries(x, y)))
		) {
			return false;
		}
	}
	return true;
}

/**
 * Whether two plain objects hold the same values (by identity) under the same keys.
 * @param a The one.
 * @param b The other.
 * @returns True if so.
 */
function sameEntries(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	let count = 0;
	for (const key in b) {
		if (!Object.hasOwn(b, key)) {
			continue;
		}
		if (!Object.hasOwn(a, key) || a[key] !== b[key]) {
			return false;
		}
		count++;
	}
	return count === Object.keys(a).length;
}
