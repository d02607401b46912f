// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IBackgroundTask, TaskStatus } from "@twin.org/background-task-models";
import { Converter, GeneralError, RandomHelper, Urn } from "@twin.org/core";
import type { BackgroundTask } from "./backgroundTask.js";
import { iso } from "./isoTime.js";
import { isFinal } from "./rules.js";

/**
 * The URN namespace identifier of task ids.
 */
const URN_NAMESPACE = "background-task";

/**
 * RandomHelper.generate as the package provides it, to tell whether a test replaced it.
 */
const PACKAGE_GENERATE = RandomHelper.generate;

/**
 * The random bytes of an id: the 32 hex characters are 12 of the creation time and 20 random.
 */
const ID_RANDOM_BYTES = 10;

/**
 * Random bytes for ids, filled 256 ids at a time: one getRandomValues call costs several
 * microseconds whatever its size, more than the rest of an id.
 */
const ID_POOL = new Uint8Array(ID_RANDOM_BYTES * 256);

/**
 * The offset of the next unused id in ID_POOL (its length when it needs a refill).
 */
let idPoolOffset = ID_POOL.length;

/**
 * The millisecond of the last id and its 12 hex characters, reused within that millisecond.
 */
let idClock = { ms: -1, hex: "" };

/**
 * A new task id: 32 lower-case hex characters, the creation time in milliseconds (12) then 80
 * bits of cryptographic randomness (20), as a UUIDv7 orders its bits. Ids made close in time sort
 * close together, so a table's primary key takes new tasks at its right edge and the queue's
 * lookups stay on a few hot pages however many older tasks it keeps (docs/performance.md). While
 * RandomHelper.generate is replaced (tests make ids deterministic that way), the id comes from
 * RandomHelper.generate(16), one call per id.
 * @returns The id.
 */
export function newTaskId(): string {
	if (RandomHelper.generate !== PACKAGE_GENERATE) {
		return Converter.bytesToHex(RandomHelper.generate(16));
	}
	const now = Date.now();
	if (now !== idClock.ms) {
		idClock = { ms: now, hex: now.toString(16).padStart(12, "0") };
	}
	if (idPoolOffset === ID_POOL.length) {
		globalThis.crypto.getRandomValues(ID_POOL);
		idPoolOffset = 0;
	}
	const start = idPoolOffset;
	idPoolOffset += ID_RANDOM_BYTES;
	return idClock.hex + Converter.bytesToHex(ID_POOL, false, start, ID_RANDOM_BYTES);
}

/**
 * The public id of a task: background-task:<namespace>:<id>.
 * @param namespace The connector namespace.
 * @param id The storage id.
 * @returns The URN.
 */
export function toTaskUrn(namespace: string, id: string): string {
	return `${URN_NAMESPACE}:${namespace}:${id}`;
}

/**
 * The storage id of a public task id. The caller has already guarded that the value is a URN.
 * As the original, only the namespace method is checked (`entity-storage` in
 * `background-task:entity-storage:<id>`).
 * @param source The class name for errors.
 * @param namespace The connector namespace.
 * @param taskId The URN.
 * @returns The storage id.
 * @throws GeneralError namespaceMismatch when the URN belongs to another namespace.
 */
export function fromTaskUrn(source: string, namespace: string, taskId: string): string {
	const urn = Urn.fromValidString(taskId);
	if (urn.namespaceMethod() !== namespace) {
		throw new GeneralError(source, "namespaceMismatch", { namespace, id: taskId });
	}
	return urn.namespaceSpecific(1);
}

/**
 * The task as callers see it from get() and query(), field for field as the original maps it:
 * `id` is the plain storage id (only create() returns the URN), every key is present even when
 * its value is undefined, in the original's order. One decision differs (SPEC section 4):
 * `dateRetainUntil` is set only for a positive retainUntil; the original formats -1 ("keep
 * forever") as 1969-12-31T23:59:59.999Z. One key is added, `progress`, only when a handler
 * reported progress. Payload, result and progress are copies, so a caller changing them cannot
 * change a stored task.
 * @param task The stored task.
 * @returns The public task.
 */
export function toTaskModel<T = unknown, U = unknown>(
	task: BackgroundTask
): IBackgroundTask<T, U> & { progress?: unknown } {
	const model: IBackgroundTask<T, U> & { progress?: unknown } = {
		id: task.id,
		type: task.type,
		threadId: task.threadId,
		dateCreated: task.dateCreated,
		dateModified: task.dateModified,
		dateCompleted: task.dateCompleted,
		dateCancelled: task.dateCancelled,
		dateRetainUntil: (task.retainUntil ?? 0) > 0 ? iso(task.retainUntil as number) : undefined,
		retryInterval: task.retryInterval,
		retriesRemaining: task.retriesRemaining,
		status: task.status as TaskStatus,
		payload: copy(task.payload) as T,
		result: copy(task.result) as U,
		error: task.error
	};
	if (task.progress !== undefined) {
		// Only when a handler reported progress: the task keeps the original's keys otherwise.
		model.progress = copy(task.progress);
	}
	return model;
}

/**
 * The task as the state-change callback receives it: what the original passes, its stored entity
 * as stored at that moment (plain id, retainFor, retainUntil, dateNextProcess while it waits or
 * runs, retriesRemaining), with the same keys present, undefined ones included: those create()
 * wrote, less what a success deletes (retriesRemaining, retryInterval) and retainFor once
 * retainUntil replaces it; retainUntil once an attempt was recorded with a retain rule other than
 * 0. A copy, so a callback changing it cannot change storage.
 * @param task The stored task.
 * @returns The copy.
 */
export function toCallbackTask(task: BackgroundTask): IBackgroundTask {
	const success = task.status === "success";
	// The keys the original's create() writes, which its stored entity keeps (undefined when
	// unset) until completion deletes some of them, in their order; each stored by name (a few
	// object shapes, not a keyed store per key: this runs twice per task on the hot path).
	const out: { [key: string]: unknown } = {
		id: task.id,
		type: task.type,
		threadId: task.threadId,
		dateCreated: task.dateCreated,
		dateModified: task.dateModified,
		dateNextProcess: task.dateNextProcess
	};
	if (!success) {
		out.retryInterval = task.retryInterval;
	}
	if (task.retainFor !== undefined || task.retainUntil === undefined) {
		out.retainFor = task.retainFor;
	}
	out.status = task.status;
	if (!success) {
		out.retriesRemaining = task.retriesRemaining;
	}
	out.payload = copy(task.payload);
	const hasRetainUntil = (task.error !== undefined || isFinal(task.status)) && task.retainFor !== 0;
	if (hasRetainUntil) {
		out.retainUntil = task.retainUntil;
	}
	// Then every other key the task has, in its order: the test of what `out` holds already is
	// spelled out rather than asked of `out` (a keyed lookup per key, most of this function's time).
	for (const key in task) {
		const value = task[key as keyof BackgroundTask];
		if (value === undefined) {
			continue;
		}
		switch (key) {
			case "id":
			case "type":
			case "threadId":
			case "dateCreated":
			case "dateModified":
			case "dateNextProcess":
			case "retainFor":
			case "status":
			case "payload":
				// retainFor is left out above only when undefined.
				continue;
			case "retryInterval":
			case "retriesRemaining":
				if (!success) {
					continue;
				}
				break;
			case "retainUntil":
				if (hasRetainUntil) {
					continue;
				}
				break;
		}
		out[key] = copy(value);
	}
	return out as unknown as IBackgroundTask;
}

/**
 * Copy a stored value: JSON (payload, result, error) is copied by walking it, which for the
 * small objects tasks carry is several times cheaper than structuredClone (measured on the
 * native backend's hot path, where the callback copy ran twice per task); anything else
 * (a Date a handler returned, say) by structuredClone.
 * @param value The value.
 * @returns The copy.
 */
function copy(value: unknown): unknown {
	if (value === undefined || value === null || typeof value !== "object") {
		return value;
	}
	if (Array.isArray(value)) {
		const items = new Array<unknown>(value.length);
		for (let i = 0; i < value.length; i++) {
			items[i] = copy(value[i]);
		}
		return items;
	}
	const proto = Object.getPrototypeOf(value);
	if (proto !== Object.prototype && proto !== null) {
		return structuredClone(value);
	}
	const out: { [key: string]: unknown } = {};
	for (const key of Object.keys(value)) {
		const item = copy((value as { [key: string]: unknown })[key]);
		if (key === "__proto__") {
			// An own "__proto__" key (JSON.parse makes one): kept as a property, never a prototype.
			Object.defineProperty(out, key, {
				value: item,
				enumerable: true,
				writable: true,
				configurable: true
			});
		} else {
			out[key] = item;
		}
	}
	return out;
}
