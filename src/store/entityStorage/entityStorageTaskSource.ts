// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { SortDirection } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import {
	adopted,
	cancelled,
	claimed,
	dueAt,
	isClaimable,
	isExpired,
	removeOnSettle,
	retriedNow
} from "../../domain/rules.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { IClaimResult, ITaskSource, QueuedTask } from "../../contracts/ITaskSource.js";
import { ENTITY_STORAGE_CLAIM_POLICY } from "./entityStorageClaimPolicy.js";
import { RecentWrites } from "./recentWrites.js";
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
	 * The store.
	 * @internal
	 */
	private readonly _store: TaskStore;

	/**
	 * A second instance on the store was reported.
	 * @internal
	 */
	private _sharedReported = false;

	/**
	 * Tasks this instance is claiming or has claimed and not settled, with the claim's
	 * dateModified (empty while a claim or settle is in flight), to recognise another instance's
	 * writes.
	 * @internal
	 */
	private readonly _mine = new Map<string, string>();

	/**
	 * Counts the claims this instance has begun, so a check can tell whether one raced it.
	 * @internal
	 */
	private _epoch = 0;

	/**
	 * The outcomes recorded lately, so a stale read of one is never claimed.
	 * @internal
	 */
	private readonly _recent = new RecentWrites();

	/**
	 * Create a new EntityStorageTaskSource.
	 * @param storage The entity storage connector for background tasks.
	 * @param log The log, for the shared-store warning.
	 */
	constructor(
		storage: IEntityStorageConnector<BackgroundTask>,
		private readonly log: TaskLog
	) {
		this._store = new TaskStore(storage);
	}

	/**
	 * Nothing to open: the connector was set up by its registration. A connector this package
	 * cannot use fails here, at start(), with the reason and the fix.
	 * @param wake Not used: nothing but this instance changes the store.
	 */
	public async open(wake: (type: string) => void): Promise<void> {
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
		const result = await this._store.scanActive(type, threadId, limit);
		await this.checkForeignClaims(result.tasks, startedAt);
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
	public async claim(id: string, threadId: string, startedAt: number): Promise<IClaimResult> {
		let seen: BackgroundTask | undefined;
		let stale = false;
		const held = this._mine.get(id);
		this._epoch++;
		this._mine.set(id, "");
		// Left "" (in flight) when the claim throws: its write may have landed, so this instance's
		// own claim could show up later as a processing task it does not hold.
		const task = await this._store.claim(id, t => {
			seen = t;
			const now = Date.now();
			stale = this._recent.isStale(t, now);
			return isClaimable(t, threadId, now, startedAt) && !stale ? claimed(t, now) : undefined;
		});
		if (task) {
			this._mine.set(id, task.dateModified);
			this._recent.remember(task, false, Date.now());
		} else if (held === undefined) {
			this._mine.delete(id);
		} else {
			this._mine.set(id, held);
		}
		if (task) {
			return { claimed: task };
		}
		if (stale) {
			// A copy older than this instance's last write of the task: a later scan reads it anew.
			return {};
		}
		// Read under the task's lock, which this instance's own claims and settles of it also
		// take: processing since this session started, and not held here, is another instance's.
		if (
			held === undefined &&
			seen?.status === TaskStatus.Processing &&
			Date.parse(seen.dateModified) > startedAt
		) {
			this.reportShared("foreignClaim", seen);
		}
		return seen?.status === TaskStatus.Pending && seen.threadId === threadId && seen.dateNextProcess
			? { pendingLater: seen }
			: {};
	}

	/**
	 * Record an outcome.
	 * @param task The settled task.
	 * @param remove Remove rather than write.
	 * @param claimedAt The claim's dateModified for a repeated write.
	 * @returns False when the task was removed while it ran.
	 */
	public async settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		// In flight until written: a write that fails is repeated by the runner (or released at
		// stop), and meanwhile the stored state is neither the claim nor the outcome for sure.
		this._mine.set(task.id, "");
		const written = await this._store.settle(task, remove, claimedAt);
		this._recent.remember(task, remove || !written, Date.now());
		this._mine.delete(task.id);
		return written;
	}

	/**
	 * Forget a claim.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._store.release(id);
		this._mine.delete(id);
	}

	/**
	 * Store a new task; with a dedupKey, only while no task of its type and key is pending or
	 * processing (else that task's id is returned). Correct within this instance, under a lock per
	 * type and key: the entity-storage interface has no conditional insert, so two instances on
	 * one store could each store a task with the same key. This source supports one instance per
	 * store anyway (one node per store); the native PostgreSQL backend dedups across nodes.
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with its type and dedupKey.
	 * @throws GeneralError queueColumnMissing when a queue option is used on a store without its
	 * column (a PostgreSQL table made before them: docs/background-task.postgresql-migrate.sql).
	 */
	public async insert(task: BackgroundTask): Promise<string> {
		return this._store.insertDeduped(task);
	}

	/**
	 * Store new tasks: one write per task (the entity-storage interface has no batch write), a few
	 * in flight at once where the connector allows overlapping calls, one at a time on the file
	 * connector. Not atomic. Tasks with a dedupKey are not deduplicated here (callers dedup
	 * through insert).
	 * @param tasks The tasks.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		await this._store.insertMany(tasks);
	}

	/**
	 * Count tasks per type and status by a scan bounded by maxScan tasks (the entity-storage
	 * interface has no grouped count): reads only each task's type and status; a store holding
	 * more tasks (of the type, when given) than maxScan gives partial counts and complete=false.
	 * @param type Only this type.
	 * @param maxScan The most tasks read.
	 * @returns The counts, and complete=false when the scan stopped at its bound.
	 */
	public async counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		return this._store.counts(type, maxScan);
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
		this._recent.remember({ id, dateModified: "", status: TaskStatus.Cancelled }, true, Date.now());
	}

	/**
	 * A page of tasks.
	 * @param type The type.
	 * @param status The status.
	 * @param sortProperty The sort property.
	 * @param sortDirection The direction.
	 * @param cursor The cursor.
	 * @param pageSize The page size.
	 * @returns The page.
	 */
	public async query(
		type: string | undefined,
		status: string | undefined,
		sortProperty: keyof BackgroundTask,
		sortDirection: SortDirection,
		cursor: string | undefined,
		pageSize: number | undefined
	): Promise<{ entities: BackgroundTask[]; cursor?: string }> {
		return this._store.query(type, status, sortProperty, sortDirection, cursor, pageSize);
	}

	/**
	 * Remove expired retained tasks.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	public async sweep(nowMs: number): Promise<number> {
		return this._store.sweep(task => isExpired(task, nowMs));
	}

	/**
	 * One due pending task of this thread per type, from a bounded look.
	 * @param threadId The thread.
	 * @param nowMs The current time.
	 * @returns A task id per type.
	 */
	public async dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]> {
		const { tasks } = await this._store.scanActive(undefined, threadId, DUE_SAMPLE_SIZE);
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
		const tasks = await this._store.adopt(fromThreadId, t =>
			adopted(t, fromThreadId, toThreadId, nowMs)
		);
		for (const task of tasks) {
			this._recent.remember(task, false, Date.now());
		}
		return tasks;
	}

	/**
	 * Look for signs of another instance in tasks just read: a task of this thread that went
	 * processing after this session started without this instance claiming it, or a task this
	 * instance holds whose stored state is no longer its claim. A sign is confirmed by reading
	 * the task again, with no claim or settle of this instance's in flight across the read, since
	 * this instance's own writes racing the scan look the same.
	 * @param tasks Tasks just read.
	 * @param startedAt When this session started.
	 * @internal
	 */
	private async checkForeignClaims(tasks: QueuedTask[], startedAt: number): Promise<void> {
		if (this._sharedReported) {
			return;
		}
		try {
			await this.confirmSign(tasks, startedAt);
		} catch {
			// A read that fails here is not this check's business: the next scan looks again.
		}
	}

	/**
	 * Confirm a sign of another instance by reading the task again, and report it.
	 * @param tasks Tasks just read.
	 * @param startedAt When this session started.
	 * @internal
	 */
	private async confirmSign(tasks: QueuedTask[], startedAt: number): Promise<void> {
		const suspect = tasks.find(t => this.sign(t, this._mine.get(t.id), startedAt) !== undefined);
		if (!suspect) {
			return;
		}
		const before = this._mine.get(suspect.id);
		const epoch = this._epoch;
		const current = await this._store.get(suspect.id);
		if (!current || this._epoch !== epoch || this._mine.get(suspect.id) !== before) {
			return;
		}
		const sign = this.sign(current, before, startedAt);
		if (sign) {
			this.reportShared(sign, current);
		}
	}

	/**
	 * What a task as read says about another instance.
	 * @param task The task as read.
	 * @param mine This instance's claim of it: its dateModified, "" while a claim or settle is in
	 * flight, undefined when not held.
	 * @param startedAt When this session started.
	 * @returns The sign, or undefined.
	 * @internal
	 */
	private sign(task: QueuedTask, mine: string | undefined, startedAt: number): string | undefined {
		if (mine === undefined) {
			return task.status === TaskStatus.Processing && Date.parse(task.dateModified) > startedAt
				? "foreignClaim"
				: undefined;
		}
		return mine !== "" && (task.status !== TaskStatus.Processing || task.dateModified !== mine)
			? "changedUnderneath"
			: undefined;
	}

	/**
	 * Warn, once, that another instance seems to use the same store.
	 * @param sign What was seen.
	 * @param task The task it was seen on, of this instance's id.
	 * @internal
	 */
	private reportShared(sign: string, task: Pick<BackgroundTask, "id" | "threadId">): void {
		if (!this._sharedReported) {
			this._sharedReported = true;
			this.log.log("warn", "sharedStore", { sign, id: task.id, instanceId: task.threadId });
		}
	}
}
