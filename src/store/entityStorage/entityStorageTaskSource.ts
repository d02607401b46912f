// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { ITaskPage, ITaskQuery } from "../../contracts/ITaskQuery.js";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { adopted, cancelled, dueAt, failedRetried, retriedNow } from "../../domain/rules.js";
import { isExpired, removeOnSettle } from "../../domain/retention.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { IClaimResult, ITaskSource, QueuedTask } from "../../contracts/ITaskSource.js";
import { LocalSchedules } from "./localSchedules.js";
import { ENTITY_STORAGE_CLAIM_POLICY } from "./entityStorageClaimPolicy.js";
import { OwnClaims } from "./ownClaims.js";
import { RecentWrites } from "./recentWrites.js";
import { SharedStoreWatch } from "./sharedStoreWatch.js";
import { StorageAdapter } from "./storageAdapter.js";
import { TaskClaimer } from "./taskClaimer.js";
import { TaskQueries } from "./taskQueries.js";
import { TaskScans } from "./taskScans.js";
import { TaskStore } from "./taskStore.js";

/**
 * Tasks looked at for the noHandler report.
 */
const DUE_SAMPLE_SIZE = 100;

/**
 * The task source over any TWIN entity-storage connector: one instance per store.
 *
 * The interface offers no atomic compare-and-set, so this source only reads in `fetch` and
 * claims one task at a time by re-reading and writing it under a per-task lock (TaskStore). That
 * is safe for one instance per store, as the original was. Signs of a second instance on the same
 * store (a task claimed here changed underneath, or a task of this thread that went processing
 * without this instance claiming it) are logged once, with the fix, and change nothing stored.
 */
export class EntityStorageTaskSource implements ITaskSource {
	/**
	 * Fetch only reads; each task is claimed when it starts.
	 */
	public readonly claimPolicy = ENTITY_STORAGE_CLAIM_POLICY;

	/**
	 * This instance's schedules, in its memory (see LocalSchedules).
	 */
	public readonly schedules = new LocalSchedules(async tasks => this.insertMany(tasks));

	/**
	 * The single-task operations.
	 * @internal
	 */
	private readonly _store: TaskStore;

	/**
	 * The paged reads over many tasks.
	 * @internal
	 */
	private readonly _scans: TaskScans;

	/**
	 * The look-ups by a filter.
	 * @internal
	 */
	private readonly _queries: TaskQueries;

	/**
	 * Claims, settles and releases, with the book of this instance's claims.
	 * @internal
	 */
	private readonly _claimer: TaskClaimer;

	/**
	 * The watch for a second instance on the store.
	 * @internal
	 */
	private readonly _watch: SharedStoreWatch;

	/**
	 * The outcomes recorded lately, so a stale read of one is never claimed.
	 * @internal
	 */
	private readonly _recent = new RecentWrites();

	/**
	 * The paused types: kept in this instance's memory, since the entity-storage interface gives
	 * no way to tell another instance.
	 * @internal
	 */
	private readonly _paused = new Set<string>();

	/**
	 * Create a new EntityStorageTaskSource.
	 * @param storage The entity storage connector for background tasks.
	 * @param log The log, for the shared-store warning.
	 */
	constructor(storage: IEntityStorageConnector<BackgroundTask>, log: TaskLog) {
		const adapter = new StorageAdapter(storage);
		this._queries = new TaskQueries(adapter);
		this._store = new TaskStore(adapter, this._queries);
		this._scans = new TaskScans(adapter, this._store);
		const claims = new OwnClaims();
		this._watch = new SharedStoreWatch(claims, id => this._store.get(id), log);
		this._claimer = new TaskClaimer(this._store, this._recent, claims, this._watch);
	}

	/**
	 * Nothing to open: the connector was set up by its registration. A connector this package
	 * cannot use fails here, at start(), with the reason and the fix.
	 * @param wake Not used: nothing but this instance changes the store.
	 * @param paused Not used: only this instance pauses its types.
	 */
	public async open(
		wake: (type: string) => void,
		paused?: (type: string, paused: boolean) => void
	): Promise<void> {
		this._store.assertSupported();
	}

	/**
	 * Nothing to close.
	 */
	public async close(): Promise<void> {}

	/**
	 * Read a batch of one type's active tasks of this thread, earliest due first.
	 * @param type The task type.
	 * @param threadId The thread.
	 * @param limit How many at most.
	 * @param startedAt When this session started (processing tasks modified later run elsewhere).
	 * @returns The tasks and whether every active task of the type was seen.
	 */
	public async fetch(
		type: string,
		threadId: string,
		limit: number,
		startedAt: number
	): Promise<{ tasks: QueuedTask[]; complete: boolean }> {
		const result = await this._scans.scanActive(type, threadId, limit);
		await this._watch.check(result.tasks, startedAt);
		return result;
	}

	/**
	 * Nothing to give back: fetch claims nothing.
	 * @param ids The task ids.
	 */
	public async unclaim(ids: string[]): Promise<void> {}

	/**
	 * Claim one task: re-read it and write it processing if it is claimable now.
	 * @param id The task id.
	 * @param threadId The thread.
	 * @param startedAt When this session started.
	 * @returns The claim result.
	 */
	public claim(id: string, threadId: string, startedAt: number): Promise<IClaimResult> {
		return this._claimer.claim(id, threadId, startedAt);
	}

	/**
	 * Record an outcome.
	 * @param task The settled task.
	 * @param remove Remove rather than write.
	 * @param claimedAt The claim's dateModified for a repeated write.
	 * @returns False when the task was removed while it ran.
	 */
	public settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		return this._claimer.settle(task, remove, claimedAt);
	}

	/**
	 * Write a running task's progress, only while this instance holds its claim.
	 * @param id The task id.
	 * @param progress The progress, a JSON value.
	 * @returns False when nothing was written because the claim is no longer this run's.
	 */
	public writeProgress(id: string, progress: unknown): Promise<boolean> {
		return this._claimer.writeProgress(id, progress);
	}

	/**
	 * Forget a claim.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._claimer.release(id);
	}

	/**
	 * Store a new task; with a dedupKey, only while no task of its type and key is pending or
	 * processing (else that task's id is returned; see TaskStore.insertDeduped).
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with its type and dedupKey.
	 * @throws GeneralError queueColumnMissing when a queue option is used on a store without its
	 * column (a PostgreSQL table made before them: docs/background-task.postgresql-migrate.sql).
	 */
	public insert(task: BackgroundTask): Promise<string> {
		return this._store.insertDeduped(task);
	}

	/**
	 * Store new tasks, one write per task (see TaskStore.insertMany). Not atomic, and tasks with a
	 * dedupKey are not deduplicated here (callers dedup through insert).
	 * @param tasks The tasks.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		await this._store.insertMany(tasks);
	}

	/**
	 * Count tasks per type and status by a scan bounded by maxScan tasks (the entity-storage
	 * interface has no grouped count; see TaskScans.counts).
	 * @param type Only this type.
	 * @param maxScan The most tasks read.
	 * @returns The counts, and complete=false when the scan stopped at its bound.
	 */
	public async counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		return this._scans.counts(type, maxScan);
	}

	/**
	 * No shared counter over entity storage (one instance per store): the scheduler's per-node
	 * limit is the limit.
	 * @param type The task type.
	 * @param max Starts per window.
	 * @param per The window, ms.
	 * @returns 0: granted.
	 */
	public async takeStart(type: string, max: number, per: number): Promise<number> {
		return 0;
	}

	/**
	 * Pause a type, for this instance.
	 * @param type The task type.
	 */
	public async pause(type: string): Promise<void> {
		this._paused.add(type);
	}

	/**
	 * Resume a type paused on this instance.
	 * @param type The task type.
	 */
	public async resume(type: string): Promise<void> {
		this._paused.delete(type);
	}

	/**
	 * The types paused on this instance.
	 * @returns The types, sorted.
	 */
	public async pausedTypes(): Promise<string[]> {
		return [...this._paused].sort();
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns The task or undefined.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		return this._store.get(id);
	}

	/**
	 * Retry a task now.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The task as written or undefined.
	 */
	public async retry(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		const task = await this._store.retry(id, t => retriedNow(t, nowMs));
		if (task) {
			// Its last outcome may have been written in the same millisecond: this version is newer.
			this._recent.remember(task, false, Date.now());
		}
		return task;
	}

	/**
	 * Put failed tasks back to pending, due now, oldest failure first, one at a time under each
	 * task's lock.
	 * @param type Only this type, when set.
	 * @param limit At most this many, when set.
	 * @param nowMs The current time.
	 * @returns The tasks as written.
	 */
	public async retryFailed(
		type: string | undefined,
		limit: number | undefined,
		nowMs: number
	): Promise<QueuedTask[]> {
		const tasks = await this._scans.retryFailed(type, limit, t => failedRetried(t, nowMs));
		for (const task of tasks) {
			// As retry: this version is newer than a last outcome written in the same millisecond.
			this._recent.remember(task, false, Date.now());
		}
		return tasks;
	}

	/**
	 * Cancel a pending task.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The cancelled task or undefined.
	 */
	public async cancel(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		const task = await this._store.update(id, t => cancelled(t, nowMs), removeOnSettle);
		if (task) {
			this._recent.remember(task, removeOnSettle(task), nowMs);
		}
		return task;
	}

	/**
	 * Remove a task.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this._store.remove(id);
		this._recent.rememberRemoval(id, Date.now());
	}

	/**
	 * A page of tasks.
	 * @param query The filters, the order and the page.
	 * @returns The page.
	 */
	public async query(query: ITaskQuery): Promise<ITaskPage> {
		return this._queries.page(query);
	}

	/**
	 * Remove expired retained tasks.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	public async sweep(nowMs: number): Promise<number> {
		return this._scans.sweep(task => isExpired(task, nowMs));
	}

	/**
	 * One due pending task of this thread per type, from a bounded look.
	 * @param threadId The thread.
	 * @param nowMs The current time.
	 * @returns A task id per type.
	 */
	public async dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]> {
		const { tasks } = await this._scans.scanActive(undefined, threadId, DUE_SAMPLE_SIZE);
		const byType = new Map<string, string>();
		for (const t of tasks) {
			if (t.status === TaskStatus.Pending && dueAt(t) <= nowMs && !byType.has(t.type)) {
				byType.set(t.type, t.id);
			}
		}
		return [...byType].map(([type, id]) => ({ id, type }));
	}

	/**
	 * Move a departed instance's pending and interrupted tasks to this instance.
	 * @param fromThreadId The departed instance's id.
	 * @param toThreadId This instance's id.
	 * @param nowMs The current time.
	 * @returns The tasks as written.
	 */
	public async adopt(
		fromThreadId: string,
		toThreadId: string,
		nowMs: number
	): Promise<BackgroundTask[]> {
		const tasks = await this._scans.adopt(fromThreadId, t =>
			adopted(t, fromThreadId, toThreadId, nowMs)
		);
		for (const task of tasks) {
			this._recent.remember(task, false, Date.now());
		}
		return tasks;
	}
}
