// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * A thin wrapper around a real entity-storage connector that counts calls by kind and tells the
 * benchmark when a task reaches a final state, without touching the connector under test.
 *
 * Completion is observed at the storage boundary, not through a state-change callback, so the
 * measured path is exactly what a caller without a callback pays: a task is "done" when it is
 * written with a final status (retainFor != 0) or removed (retainFor 0; no other remove happens in
 * these scenarios).
 */

/**
 * The final task statuses.
 */
const FINAL = new Set(["success", "failed", "cancelled"]);

/**
 * Counting, completion-observing wrapper of an IEntityStorageConnector.
 */
export class CountingStorage {
	/**
	 * Create the wrapper.
	 * @param {import("@twin.org/entity-storage-models").IEntityStorageConnector<any>} inner The real connector.
	 * It answers to CLASS_NAME with the inner connector's, so the connector under test applies that
	 * connector's profile (serial calls for the file connector, one sort key for DynamoDB, ...) as
	 * it does without the wrapper.
	 */
	constructor(inner) {
		// While true, set() appends straight to the in-memory array (setup of a large backlog only:
		// skips the connector's linear existence check, which would make the setup quadratic).
		this.fastInsert = false;
		// When an array, every call is appended as { op, args } (for the storage-floor replay).
		/** @type {{ op: string, args: unknown[] }[] | undefined} */
		this.recording = undefined;
		this.CLASS_NAME = inner.CLASS_NAME;
		// When a Set, only the tasks whose ids it holds count as completions (a connector's own
		// probe rows, written and removed, do not).
		/** @type {Set<string> | undefined} */
		this.taskIds = undefined;
		this.inner = inner;
		this.counts = { set: 0, get: 0, remove: 0, query: 0 };
		this.completed = 0;
		this.claims = 0;
		/** @type {((entity: any) => void) | undefined} */
		this.onSet = undefined;
		this._target = Number.POSITIVE_INFINITY;
		this._resolve = undefined;
	}

	/**
	 * Reset the counters (after a setup phase).
	 */
	resetCounts() {
		this.counts = { set: 0, get: 0, remove: 0, query: 0 };
		this.claims = 0;
	}

	/**
	 * Resolve when `target` tasks have completed (counted from now on, plus those already done).
	 * @param {number} target The number of completions to wait for.
	 * @returns {Promise<void>} Resolves at the target.
	 */
	whenCompleted(target) {
		this._target = target;
		return new Promise(resolve => {
			this._resolve = resolve;
			this._check();
		});
	}

	getSchema() {
		return this.inner.getSchema();
	}

	async get(id, secondaryIndex, conditions) {
		this.counts.get++;
		this.recording?.push({ op: "get", args: [id, secondaryIndex, conditions] });
		return this.inner.get(id, secondaryIndex, conditions);
	}

	async set(entity, conditions) {
		this.counts.set++;
		this.recording?.push({ op: "set", args: [entity, conditions] });
		if (this.fastInsert) {
			this.inner.getStore().push(entity);
		} else {
			await this.inner.set(entity, conditions);
		}
		if (entity.status === "processing") {
			this.claims++;
		}
		this.onSet?.(entity);
		if (FINAL.has(entity.status)) {
			this._done(entity.id);
		}
	}

	async remove(id, conditions) {
		this.counts.remove++;
		this.recording?.push({ op: "remove", args: [id, conditions] });
		await this.inner.remove(id, conditions);
		this._done(id);
	}

	async query(conditions, sortProperties, properties, cursor, pageSize) {
		this.counts.query++;
		this.recording?.push({
			op: "query",
			args: [conditions, sortProperties, properties, cursor, pageSize]
		});
		return this.inner.query(conditions, sortProperties, properties, cursor, pageSize);
	}

	/**
	 * Count one completion.
	 * @param {string} id The task's id.
	 */
	_done(id) {
		if (this.taskIds && !this.taskIds.has(id)) {
			return;
		}
		this.completed++;
		this._check();
	}

	/**
	 * Resolve the waiter at the target.
	 */
	_check() {
		if (this._resolve && this.completed >= this._target) {
			const resolve = this._resolve;
			this._resolve = undefined;
			resolve();
		}
	}
}
