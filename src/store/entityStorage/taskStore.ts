// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { KeyedLock } from "./keyedLock.js";
import { RunningClaims } from "./runningClaims.js";
import type { StorageAdapter } from "./storageAdapter.js";
import { isUniqueViolation, missingColumn } from "./storageErrors.js";
import type { TaskQueries } from "./taskQueries.js";

/**
 * Writes in flight at once while storing a batch on a connector that takes overlapping calls.
 */
const INSERT_WINDOW = 16;

/**
 * The storage operations on single tasks: insert, read, claim, settle, update and remove.
 * Read-modify-write sequences on one task run under a per-task lock, so a cancel, retry or
 * remove never interleaves with a claim or completion of the same task in this instance. Paged
 * reads over many tasks are TaskScans' and TaskQueries'; connector workarounds are
 * StorageAdapter's.
 */
export class TaskStore {
	/**
	 * The tasks this instance has claimed and not yet settled, and whether each was removed
	 * meanwhile (its outcome is then not written back).
	 * @internal
	 */
	private readonly _running = new RunningClaims();

	/**
	 * Serialises read-modify-write on one task.
	 * @internal
	 */
	private readonly _lock = new KeyedLock();

	/**
	 * Serialises inserts of one type and dedupKey.
	 * @internal
	 */
	private readonly _dedupLock = new KeyedLock();

	/**
	 * Create a new TaskStore.
	 * @param storage The storage connector, with the connector workarounds.
	 * @param queries The look-ups, for the active task of a dedupKey.
	 */
	constructor(
		private readonly storage: StorageAdapter,
		private readonly queries: TaskQueries
	) {}

	/**
	 * Throw when this package cannot use the connector.
	 */
	public assertSupported(): void {
		this.storage.assertSupported();
	}

	/**
	 * Store a new task.
	 * @param task The task, owned by the store from now on.
	 */
	public insert(task: BackgroundTask): Promise<void> {
		return this.storage.set(task);
	}

	/**
	 * Store a new task unless it has a dedupKey and a task of the same type and key is pending or
	 * processing: then that task's id is returned and nothing is written.
	 *
	 * The look-up and the write run under a lock per type and key, which is correct within this
	 * instance (the entity-storage interface has no conditional insert; one instance per store).
	 * A write refused by a unique index on type and dedupKey means another writer stored the key's
	 * task first: its id is returned.
	 * @param task The task, owned by the store from now on.
	 * @returns The id of the task stored, or of the active task with its type and dedupKey.
	 * @throws GeneralError queueColumnMissing when the store has no dedupKey column (a PostgreSQL
	 * table made before this package's queue options: run the migration).
	 */
	public async insertDeduped(task: BackgroundTask): Promise<string> {
		const key = task.dedupKey;
		if (key === undefined) {
			await this.insert(task);
			return task.id;
		}
		return this._dedupLock.run(dedupLockKey(task.type, key), async () => {
			const active = await this.queries.activeWithKey(task.type, key);
			if (active !== undefined) {
				return active;
			}
			try {
				await this.insert(task);
			} catch (err) {
				const winner = isUniqueViolation(err)
					? await this.queries.activeWithKey(task.type, key)
					: undefined;
				if (winner === undefined) {
					throw err;
				}
				return winner;
			}
			return task.id;
		});
	}

	/**
	 * Change a task for retry(): as update, except that a failed task with a dedupKey is left
	 * alone while another task of its type and key is pending or processing (that task stands for
	 * it, as it would for a create), so a key never has two active tasks.
	 * @param id The task id.
	 * @param change The change (rules.retriedNow).
	 * @returns The task as written, or undefined when nothing changed.
	 */
	public async retry(
		id: string,
		change: (task: BackgroundTask) => BackgroundTask | undefined
	): Promise<BackgroundTask | undefined> {
		// The task's lock first, as update() takes it: a retry() called before a claim is ordered
		// before that claim (and one called during the run sees it processing), never after the
		// settle of the run it preceded. The key's lock is taken inside it; nothing takes them in
		// the other order (a create with a dedupKey takes only the key's lock).
		return this._lock.run(id, async () => {
			const current = await this.get(id);
			if (!current) {
				return undefined;
			}
			const key = current.dedupKey;
			const apply = async (): Promise<BackgroundTask | undefined> => {
				const next = change(current);
				if (next) {
					await this.write(next, false);
				}
				return next;
			};
			if (key === undefined || current.status !== TaskStatus.Failed) {
				return apply();
			}
			return this._dedupLock.run(dedupLockKey(current.type, key), async () =>
				(await this.queries.activeWithKey(current.type, key)) === undefined ? apply() : undefined
			);
		});
	}

	/**
	 * Store new tasks. The entity-storage interface has no batch write, so this is one write per
	 * task: issued in order, a few at a time on a connector that takes overlapping calls, one at a
	 * time on one that does not (the file connector, which rewrites its whole file per write). Not
	 * atomic: when a write fails, the tasks before it (and some issued with it) are stored and the
	 * error is thrown.
	 * @param tasks The tasks, owned by the store from now on.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		const window = this.storage.serialised ? 1 : INSERT_WINDOW;
		for (let i = 0; i < tasks.length; i += window) {
			// Settled, not raced: when a write fails, the call ends with no write still in flight.
			const results = await Promise.allSettled(
				tasks.slice(i, i + window).map(async t => this.storage.set(t))
			);
			const failed = results.find(r => r.status === "rejected");
			if (failed) {
				throw failed.reason;
			}
		}
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns A copy of the task, or undefined when unknown.
	 */
	public get(id: string): Promise<BackgroundTask | undefined> {
		return this.storage.get(id);
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
			this._running.claimed(id);
		}
		return task;
	}

	/**
	 * Record the outcome of a claimed task, unless it was removed while running.
	 * @param task The settled task.
	 * @param remove True to remove it (retainFor 0) rather than write it.
	 * @param claimedAt The claim's dateModified, when this is a repeat of a write that failed: the
	 * failed write may have committed before it threw, and a cancel() or retry() may have changed
	 * the task since, so the write is repeated only while storage still holds the claim.
	 * @returns False when nothing was written because the task was removed while it ran.
	 */
	public async settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		return this._lock.run(task.id, async () => {
			let write = !this._running.wasRemoved(task.id);
			if (write && claimedAt !== undefined) {
				const current = await this.get(task.id);
				write = current?.status === TaskStatus.Processing && current.dateModified === claimedAt;
			}
			if (write) {
				await this.writeSettled(task, remove);
			}
			const removed = this._running.wasRemoved(task.id);
			this._running.forget(task.id);
			return !removed;
		});
	}

	/**
	 * Write the progress a running handler reported onto its task, under the task's lock, only
	 * while storage still holds this instance's claim (processing, with the claim's dateModified)
	 * and the task was not removed: a progress write never overwrites an outcome or a later claim.
	 * The task's dateModified is left as it is, so the claim's fence still holds.
	 * @param id The task id.
	 * @param claimedAt The claim's dateModified.
	 * @param progress The progress, a JSON value.
	 * @returns False when nothing was written because the claim is no longer this run's.
	 */
	public async writeProgress(id: string, claimedAt: string, progress: unknown): Promise<boolean> {
		return this._lock.run(id, async () => {
			if (!this._running.isRunning(id)) {
				return false;
			}
			const current = await this.get(id);
			if (current?.status !== TaskStatus.Processing || current.dateModified !== claimedAt) {
				return false;
			}
			await this.storage.set({ ...current, progress });
			return true;
		});
	}

	/**
	 * Forget a claim without recording anything (the instance stopped while it ran): the task
	 * stays processing in storage and the next start recovers it.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._running.forget(id);
	}

	/**
	 * Remove a task whatever its status. A claimed task is not written back when it finishes.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this._lock.run(id, async () => {
			await this.storage.remove(id);
			this._running.removed(id);
		});
	}

	/**
	 * Remove a task if, read again under its lock, it still passes the test (the sweep: a retry()
	 * since the sweep's page was read keeps the task).
	 * @param id The task id.
	 * @param test Whether the task as stored now may be removed.
	 * @returns True when the task was removed.
	 */
	public async removeIfStill(
		id: string,
		test: (task: BackgroundTask) => boolean
	): Promise<boolean> {
		return this._lock.run(id, async () => {
			const current = await this.get(id);
			if (current && test(current)) {
				await this.storage.remove(id);
				return true;
			}
			return false;
		});
	}

	/**
	 * Write or remove a task.
	 * @param task The task.
	 * @param remove True to remove it instead.
	 * @internal
	 */
	private write(task: BackgroundTask, remove: boolean): Promise<void> {
		return remove ? this.storage.remove(task.id) : this.storage.set(task);
	}

	/**
	 * Write or remove a settled task. On a table made before the progress column existed, a task
	 * whose handler reported progress is written without it rather than not at all (its settle
	 * would otherwise fail on every repeat and leave the task processing).
	 * @param task The settled task.
	 * @param remove True to remove it instead.
	 * @internal
	 */
	private async writeSettled(task: BackgroundTask, remove: boolean): Promise<void> {
		try {
			await this.write(task, remove);
		} catch (err) {
			if (remove || task.progress === undefined || missingColumn(err) !== "progress") {
				throw err;
			}
			const withoutProgress = { ...task };
			delete withoutProgress.progress;
			await this.storage.set(withoutProgress);
		}
	}
}

/**
 * The dedup lock's key for a type and dedupKey.
 * @param type The task type.
 * @param key The dedupKey.
 * @returns The key.
 */
function dedupLockKey(type: string, key: string): string {
	return `${type}\u0000${key}`;
}
