// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { IScheduleStore } from "./IScheduleStore.js";
import type { IClaimPolicy } from "./IClaimPolicy.js";
import type { ITaskPage, ITaskQuery } from "./ITaskQuery.js";

/**
 * The columns the scheduler's queues need from a task: enough to order it and to decide whether
 * it is claimable, without its payload, result or error.
 */
export type QueuedTask = Pick<
	BackgroundTask,
	| "id"
	| "type"
	| "threadId"
	| "status"
	| "dateNextProcess"
	| "dateCreated"
	| "dateModified"
	| "priority"
>;

/**
 * The result of a claim attempt on one task.
 */
export interface IClaimResult {
	/**
	 * The task, now processing for this instance; undefined when it could not be claimed.
	 */
	claimed?: BackgroundTask;

	/**
	 * When not claimed and the task still exists pending for this thread with a due time that
	 * moved (the queue held a stale view), the task as it is now, so it can be queued again at its
	 * real due time.
	 */
	pendingLater?: QueuedTask;
}

/**
 * Who hears how a settle went (ITaskSource.settleThen).
 */
export interface ISettleDone {
	/**
	 * The settle is recorded: what settle() would resolve with.
	 * @param written False when nothing was written because the task was removed or the claim lost.
	 */
	settled(written: boolean): void;

	/**
	 * The settle failed: what settle() would reject with. The caller repeats it with claimedAt.
	 * @param err The failure.
	 */
	failed(err: unknown): void;
}

/**
 * Where tasks live: the one seam between the scheduler and storage.
 *
 * The scheduler asks a source for a batch of one type's due tasks (`fetch`), claims each one
 * before running it (`claim`), and records the outcome (`settle`). The facade creates, reads,
 * retries, cancels, removes and queries through it. A source knows nothing of slots, timers or
 * workers; the scheduler knows no SQL and no connector quirks.
 *
 * Two kinds of source implement it:
 * - a store owned by one instance (any TWIN entity-storage connector): `fetch` only reads, and
 *   `claim` re-reads and writes one task;
 * - a shared database (the native PostgreSQL backend): `fetch` claims the batch atomically for
 *   this instance (leased, renewed by a heartbeat), so `claim` of a fetched task costs nothing,
 *   and every change is one conditional statement fenced by the lease owner.
 */
export interface ITaskSource {
	/**
	 * How this source claims: the questions the scheduler would otherwise answer by asking what
	 * kind of source it has.
	 */
	readonly claimPolicy: IClaimPolicy;

	/**
	 * The recurring tasks' schedules kept beside the tasks (schedule()).
	 */
	readonly schedules: IScheduleStore;

	/**
	 * Begin a session (the connector's start()): connect, create what is missing, subscribe to
	 * wake-ups.
	 * @param wake Called with a task type when tasks of that type may have become due through
	 * another instance (a notification); the scheduler then fetches that type.
	 * @param paused Called when the source learns that a type was paused (true) or resumed (false)
	 * on a shared database: from the notifications of every instance, in commit order (this one's
	 * own included, which also tells the scheduler directly), and from the stored types read at
	 * open and when a lost notification channel comes back.
	 * @param aborted Called when a task this instance holds was asked to stop by abort(id) on
	 * another instance of a shared database (a notification, or found at a heartbeat).
	 */
	open(
		wake: (type: string) => void,
		paused?: (type: string, paused: boolean) => void,
		aborted?: (id: string, reason: string) => void
	): Promise<void>;

	/**
	 * End a session (the connector's stop(), after running tasks were waited for): give back tasks
	 * claimed by `fetch` and never passed to `claim`, stop renewing leases, close connections and
	 * subscriptions. A task still running keeps its claim: it is recovered later (entity storage:
	 * by the next start; shared database: once its lease expires).
	 */
	close(): Promise<void>;

	/**
	 * A batch of one type's due or recoverable tasks for this thread, earliest due first.
	 * @param type The task type.
	 * @param threadId The thread whose tasks this instance runs.
	 * @param limit How many tasks at most.
	 * @param startedAt When this session started, epoch ms: entity storage recovers tasks left
	 * processing before then.
	 * @param serial The type runs one task at a time across every instance on the store: claim
	 * only while none of its tasks runs anywhere, and only its earliest due task.
	 * @returns The tasks, and complete=true when no further due task of the type exists beyond
	 * them (so a task made due later can be queued directly).
	 */
	fetch(
		type: string,
		threadId: string,
		limit: number,
		startedAt: number,
		serial?: boolean
	): Promise<{ tasks: QueuedTask[]; complete: boolean }>;

	/**
	 * Give back tasks claimed by `fetch` that will not be run (their type was unregistered): they
	 * become pending again for any instance. No-op for a source that does not claim on fetch.
	 * @param ids The task ids.
	 */
	unclaim(ids: string[]): Promise<void>;

	/**
	 * Claim one task to run it now: pending and due (or recoverable) becomes processing for this
	 * instance. A task already claimed by `fetch` is returned as claimed.
	 * @param id The task id.
	 * @param threadId The thread whose tasks this instance runs.
	 * @param startedAt When this session started, epoch ms.
	 * @param serial The type runs one task at a time across every instance (see fetch).
	 * @returns The claim result.
	 */
	claim(id: string, threadId: string, startedAt: number, serial?: boolean): Promise<IClaimResult>;

	/**
	 * Hand out a task this instance already holds claimed (fetched and not started, its lease
	 * known to be fresh) without waiting for anything: the claim of most tasks of a backlog on a
	 * claiming source. Undefined when claim() must decide.
	 * @param id The task id.
	 * @returns The claimed task, or undefined.
	 */
	claimHeld?(id: string): BackgroundTask | undefined;

	/**
	 * Record the outcome of a claimed task, unless it was removed while it ran or (shared
	 * database) the claim was lost to another instance.
	 * @param task The settled task (rules applied).
	 * @param remove True to remove it (final with retainFor 0) rather than write it.
	 * @param claimedAt The claim's dateModified, when this is a repeat of a write that failed.
	 * @returns False when nothing was written because the task was removed or the claim lost.
	 */
	settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean>;

	/**
	 * settle() of a first write (not a repeat), its outcome told to `done` rather than through a
	 * promise, and never during this call: a task waiting for its record then keeps no promise or
	 * suspended frame alive (docs/performance.md, "Hot path"). A source without it is settled
	 * through settle().
	 * @param task The settled task (rules applied).
	 * @param remove True to remove it rather than write it.
	 * @param done Told whether it was written (settle()'s result), or why it failed.
	 */
	settleThen?(task: BackgroundTask, remove: boolean, done: ISettleDone): void;

	/**
	 * Write the progress a running handler reported onto its task, fenced like a settle: only
	 * while this instance still holds the claim of the run (shared database: lease owner, status
	 * processing and the claim's dateModified; entity storage: under the task's lock, while the
	 * task is processing for this instance), so it never overwrites an outcome or another claim.
	 * The task's dateModified is left as it is.
	 * @param id The task id.
	 * @param progress The progress, a JSON value.
	 * @returns False when nothing was written because the run no longer holds the claim.
	 */
	writeProgress(id: string, progress: unknown): Promise<boolean>;

	/**
	 * Forget a claim without recording anything (stop() gave up on a running task).
	 * @param id The task id.
	 */
	release(id: string): void;

	/**
	 * Store a new task; on a shared database, tell every instance a task of its type is due. A
	 * task with a dedupKey is not stored while a task of the same type and key is pending or
	 * processing: that task's id is returned instead (one atomic statement on a shared database;
	 * under a per-key lock within one instance over entity storage).
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with the same type and dedupKey.
	 */
	insert(task: BackgroundTask): Promise<string>;

	/**
	 * Store new tasks (none with a dedupKey), in one round trip where the store allows it; on a
	 * shared database, tell every instance once per type.
	 * @param tasks The tasks.
	 */
	insertMany(tasks: BackgroundTask[]): Promise<void>;

	/**
	 * Count tasks per type and status (a grouped query on a shared database; a scan bounded by
	 * maxScan tasks over entity storage).
	 * @param type Only this type, when set.
	 * @param maxScan The most tasks a scan may read.
	 * @returns The counts, and complete=false when a scan stopped at its bound.
	 */
	counts(
		type: string | undefined,
		maxScan: number
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }>;

	/**
	 * Take one start of a rate-limited type from a counter shared by every instance on the store
	 * (a shared database). A source of one instance has no shared counter and always grants: the
	 * scheduler's own per-node limit applies.
	 * @param type The task type.
	 * @param max Starts allowed per window.
	 * @param per The window, ms.
	 * @returns 0 when granted, else how long to wait before asking again, ms.
	 */
	takeStart(type: string, max: number, per: number): Promise<number>;

	/**
	 * Pause a type: no task of it is claimed from now on (a shared database stores the pause, so
	 * no instance claims one, and notifies every instance; entity storage keeps it in this
	 * instance's memory). Tasks of the type are still stored. No-op when already paused.
	 * @param type The task type.
	 */
	pause(type: string): Promise<void>;

	/**
	 * Resume a paused type (on a shared database, notifying every instance). No-op when not paused.
	 * @param type The task type.
	 */
	resume(type: string): Promise<void>;

	/**
	 * The paused types (stored on a shared database, this instance's over entity storage).
	 * @returns The types, sorted.
	 */
	pausedTypes(): Promise<string[]>;

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns The task, or undefined when unknown.
	 */
	get(id: string): Promise<BackgroundTask | undefined>;

	/**
	 * Make a pending task due now, or put a failed one back to pending due now (rules.retriedNow),
	 * atomically; on a shared database, tell every instance.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The task as written, or undefined when nothing changed.
	 */
	retry(id: string, nowMs: number): Promise<BackgroundTask | undefined>;

	/**
	 * Put failed tasks back to pending, due now, as retry does for one (rules.failedRetried), oldest
	 * failure first; a failed task whose dedupKey an active task holds stays failed, as with retry.
	 * On a shared database one statement, telling every instance; over entity storage one task at a
	 * time under its lock.
	 * @param type Only tasks of this type, when set.
	 * @param limit At most this many, when set.
	 * @param nowMs The current time.
	 * @returns The tasks put back (those still failed when reached), their queue columns.
	 */
	retryFailed(
		type: string | undefined,
		limit: number | undefined,
		nowMs: number
	): Promise<QueuedTask[]>;

	/**
	 * Cancel a task only while it is pending (rules.cancelled), removing it when its retainFor is
	 * 0, atomically.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The cancelled task, or undefined when nothing changed.
	 */
	cancel(id: string, nowMs: number): Promise<BackgroundTask | undefined>;

	/**
	 * Ask whichever instance runs a processing task to stop it (a shared database only): stored
	 * on the task and announced, the owner's `aborted` listener hears of it. Absent where the only
	 * instance that can run a task is this one (entity storage).
	 * @param id The task id.
	 * @param reason The reason.
	 * @returns True when the task was processing.
	 */
	requestAbort?(id: string, reason: string): Promise<boolean>;

	/**
	 * Remove a task whatever its status; a task running here is not written back.
	 * @param id The task id.
	 */
	remove(id: string): Promise<void>;

	/**
	 * A page of the public query.
	 * @param query The filters, the order and the page.
	 * @returns The page and the next cursor.
	 */
	query(query: ITaskQuery): Promise<ITaskPage>;

	/**
	 * Remove final tasks whose retain date has passed.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	sweep(nowMs: number): Promise<number>;

	/**
	 * One due pending task of this thread per type, from a bounded look (at most 100 tasks), for
	 * the noHandler report of types that have due tasks and no handler.
	 * @param threadId The thread.
	 * @param nowMs The current time.
	 * @returns One task id per type.
	 */
	dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]>;

	/**
	 * Move a departed instance's pending and interrupted tasks to this instance (adoptTasks).
	 * @param fromThreadId The departed instance's id.
	 * @param toThreadId This instance's id.
	 * @param nowMs The current time.
	 * @returns The tasks as written, now this instance's.
	 */
	adopt(fromThreadId: string, toThreadId: string, nowMs: number): Promise<BackgroundTask[]>;
}
