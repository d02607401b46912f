// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { IError } from "@twin.org/core";
import type { BackgroundTask } from "./backgroundTask.js";
import { iso } from "./isoTime.js";
import { DEFAULT_RETRY_MAX_INTERVAL, retryDelay } from "./retry.js";

/**
 * The task rules as pure functions: each takes a task (never mutated) and the current time and
 * returns the next state. They hold every decision about statuses, retries and retention, so they
 * are tested without timers or storage.
 *
 * State machine:
 *   pending --claim--> processing --success--> success
 *                                 --failure, retries left--> pending (due after retryInterval)
 *                                 --failure, none left--> failed
 *   pending --cancel--> cancelled
 *   processing --abort(id), when the run ends--> cancelled (error: AbortError, the reason)
 *   pending (waiting) --retry--> pending (due now);  failed --retry--> pending (due now)
 *   processing left by a crash --claim--> processing (runs again: at-least-once)
 * A final task (success, failed, cancelled) is removed at once when retainFor is 0, kept forever
 * when -1, else swept once retainUntil has passed. With the dead-letter setting failedRetainFor, a
 * task that ends failed takes that retain period instead of its own.
 */

/**
 * The outcome of one attempt to run a handler, with the last progress its handler reported.
 */
export type AttemptOutcome =
	| { ok: true; result?: unknown; progress?: unknown }
	| { ok: false; error: IError; progress?: unknown };

/**
 * The statuses after which a task never runs again.
 */
const FINAL_STATUSES: ReadonlySet<string> = new Set([
	TaskStatus.Success,
	TaskStatus.Failed,
	TaskStatus.Cancelled
]);

/**
 * Is the status final.
 * @param status The status.
 * @returns True for success, failed and cancelled.
 */
export function isFinal(status: string): boolean {
	return FINAL_STATUSES.has(status);
}

/**
 * Can this thread claim the task now: its own, due, and pending, or processing since before this
 * instance started (left by a crash or an abandoned stop). A task that went processing after the
 * start is running somewhere: it is not taken over.
 * @param task The task as read from storage.
 * @param threadId The claiming thread.
 * @param nowMs The current time.
 * @param startedAt When this instance started, epoch ms (default: recover any processing task).
 * @returns True if the task may be claimed.
 */
export function isClaimable(
	task: BackgroundTask,
	threadId: string,
	nowMs: number,
	startedAt = Number.POSITIVE_INFINITY
): boolean {
	return (
		task.threadId === threadId &&
		dueAt(task) <= nowMs &&
		(task.status === TaskStatus.Pending ||
			(task.status === TaskStatus.Processing && Date.parse(task.dateModified) <= startedAt))
	);
}

/**
 * The last due date parsed by dueAt().
 */
let lastDue = { text: "", ms: Number.NaN };

/**
 * When the task is due, in epoch ms; Infinity when it has no next process date.
 * @param task The task.
 * @returns The due time.
 */
export function dueAt(task: Pick<BackgroundTask, "dateNextProcess">): number {
	const text = task.dateNextProcess;
	if (!text) {
		return Number.POSITIVE_INFINITY;
	}
	// Tasks created together share their due date, and each task's is read more than once on
	// the way to its run: the last one parsed is kept.
	if (text !== lastDue.text) {
		lastDue = { text, ms: Date.parse(text) };
	}
	return lastDue.ms;
}

/**
 * The task once claimed.
 * @param task The claimable task.
 * @param nowMs The current time.
 * @returns The task in processing.
 */
export function claimed(task: BackgroundTask, nowMs: number): BackgroundTask {
	const next: BackgroundTask = { ...task, status: TaskStatus.Processing, dateModified: iso(nowMs) };
	if (task.attempts !== undefined) {
		// Counted only for tasks that record it (see BackgroundTask.attempts).
		next.attempts = task.attempts + 1;
	}
	return next;
}

/**
 * The task after an attempt: success, a scheduled retry, or failed.
 * @param task The task that ran.
 * @param outcome The outcome of the attempt.
 * @param nowMs The current time.
 * @param defaultRetryInterval The retry interval for tasks created without one.
 * @param defaultRetryMaxInterval The exponential backoff cap for tasks created without one.
 * @param random A uniform random number in [0, 1), for the backoff's jitter.
 * @param failedRetainFor The dead-letter retain period of a task that ends failed (ms, -1 for
 * ever), in place of its own retainFor; undefined: its own applies.
 * @returns The next state; removeOnSettle decides whether it is kept.
 */
export function settled(
	task: BackgroundTask,
	outcome: AttemptOutcome,
	nowMs: number,
	defaultRetryInterval: number,
	defaultRetryMaxInterval: number = DEFAULT_RETRY_MAX_INTERVAL,
	random: () => number = Math.random,
	failedRetainFor?: number
): BackgroundTask {
	const now = iso(nowMs);
	if (outcome.ok) {
		return finalized(task, nowMs, {
			status: TaskStatus.Success,
			dateModified: now,
			dateCompleted: now,
			dateNextProcess: REMOVED,
			retriesRemaining: REMOVED,
			retryInterval: REMOVED,
			error: REMOVED,
			result: outcome.result === undefined ? REMOVED : outcome.result
		});
	}
	const retriesRemaining = task.retriesRemaining ?? 0;
	if (retriesRemaining > 0) {
		return rewritten(task, {
			dateModified: now,
			error: outcome.error,
			status: TaskStatus.Pending,
			retriesRemaining: retriesRemaining - 1,
			dateNextProcess: iso(
				nowMs + retryDelay(task, defaultRetryInterval, defaultRetryMaxInterval, random)
			)
		});
	}
	const failed: Changes = {
		dateModified: now,
		error: outcome.error,
		status: TaskStatus.Failed,
		dateCompleted: now,
		dateNextProcess: REMOVED
	};
	if (failedRetainFor !== undefined) {
		// The task keeps its own retainFor, so a retry gives it back (retriedNow); retainUntil holds
		// the dead-letter period, and removeOnSettle, given the setting, removes it for 0.
		if (failedRetainFor !== 0) {
			failed.retainUntil = failedRetainFor === -1 ? -1 : nowMs + failedRetainFor;
		}
		return rewritten(task, failed);
	}
	return finalized(task, nowMs, failed);
}

/**
 * A change of rewritten() that removes the property.
 */
const REMOVED: unique symbol = Symbol("removed");

/**
 * The changes rewritten() applies: a new value, or REMOVED.
 */
type Changes = { [K in keyof BackgroundTask]?: BackgroundTask[K] | typeof REMOVED };

/**
 * A copy of the task with changes applied: the task's keys in their order (a changed key keeps
 * its place, a removed one is left out), then the new keys in the changes' order. The same object
 * a spread followed by assignments and deletes would make, but built without `delete`, which
 * turns an object into a slow dictionary (measured: a kilobyte more garbage per settled task, on
 * the hot path of every backend).
 * @param task The task.
 * @param changes The changes.
 * @returns The new task.
 */
function rewritten(task: BackgroundTask, changes: Changes): BackgroundTask {
	const next: { [key: string]: unknown } = {};
	const values = task as unknown as { [key: string]: unknown };
	const changed = changes as { [key: string]: unknown };
	for (const key in values) {
		if (Object.hasOwn(changed, key)) {
			const value = changed[key];
			if (value !== REMOVED) {
				next[key] = value;
			}
		} else {
			next[key] = values[key];
		}
	}
	for (const key in changed) {
		const value = changed[key];
		if (value !== REMOVED && !Object.hasOwn(values, key)) {
			next[key] = value;
		}
	}
	return next as unknown as BackgroundTask;
}

/**
 * A final task (success or failed) with its retain rule applied as withRetain(task, nowMs, true)
 * applies it, built in one copy.
 * @param task The task that ran.
 * @param nowMs The current time.
 * @param changes The changes of the outcome.
 * @returns The final task.
 */
function finalized(task: BackgroundTask, nowMs: number, changes: Changes): BackgroundTask {
	const retainFor = task.retainFor ?? 0;
	const retainUntil = retainFor === -1 ? -1 : retainFor > 0 ? nowMs + retainFor : task.retainUntil;
	if (retainUntil !== undefined) {
		changes.retainUntil = retainUntil;
		changes.retainFor = REMOVED;
	}
	return rewritten(task, changes);
}

/**
 * The task once cancelled, or undefined when it is not pending (only pending tasks cancel).
 * @param task The task.
 * @param nowMs The current time.
 * @returns The cancelled task or undefined.
 */
export function cancelled(task: BackgroundTask, nowMs: number): BackgroundTask | undefined {
	if (task.status !== TaskStatus.Pending) {
		return undefined;
	}
	const next: BackgroundTask = {
		...task,
		status: TaskStatus.Cancelled,
		dateModified: iso(nowMs),
		dateCancelled: iso(nowMs)
	};
	delete next.dateNextProcess;
	return withRetain(next, nowMs);
}

/**
 * The task once its run was stopped by abort(id): cancelled, whatever the handler's outcome and
 * however many retries it has left, with an error named "AbortError" whose message is the reason;
 * dateCancelled set as cancel() sets it, the retain rule applied as to any run's final outcome,
 * and its other fields (retriesRemaining, attempts, progress, ...) kept.
 * @param task The task that ran.
 * @param reason The reason given to abort().
 * @param nowMs The current time.
 * @returns The cancelled task; removeOnSettle decides whether it is kept.
 */
export function abortedRun(task: BackgroundTask, reason: string, nowMs: number): BackgroundTask {
	const now = iso(nowMs);
	return finalized(task, nowMs, {
		status: TaskStatus.Cancelled,
		dateModified: now,
		dateCancelled: now,
		dateNextProcess: REMOVED,
		error: { name: "AbortError", message: reason }
	});
}

/**
 * The task moved to another instance (adoptTasks): a pending task keeps its due time, and one
 * left processing by a departed instance becomes pending again, to run again where it now
 * belongs. Undefined when the task is final or not the departed instance's.
 * @param task The task.
 * @param fromThreadId The departed instance's id.
 * @param toThreadId The adopting instance's id.
 * @param nowMs The current time.
 * @returns The adopted task or undefined.
 */
export function adopted(
	task: BackgroundTask,
	fromThreadId: string,
	toThreadId: string,
	nowMs: number
): BackgroundTask | undefined {
	if (
		task.threadId !== fromThreadId ||
		(task.status !== TaskStatus.Pending && task.status !== TaskStatus.Processing)
	) {
		return undefined;
	}
	return {
		...task,
		threadId: toThreadId,
		status: TaskStatus.Pending,
		dateModified: iso(nowMs),
		dateNextProcess: task.dateNextProcess ?? iso(nowMs)
	};
}

/**
 * The task made due now: a pending task waiting for a retry, or a failed task given one more
 * attempt. Undefined for any other status.
 * @param task The task.
 * @param nowMs The current time.
 * @returns The task due now, or undefined.
 */
export function retriedNow(task: BackgroundTask, nowMs: number): BackgroundTask | undefined {
	if (task.status !== TaskStatus.Pending && task.status !== TaskStatus.Failed) {
		return undefined;
	}
	const next: BackgroundTask = {
		...task,
		status: TaskStatus.Pending,
		dateModified: iso(nowMs),
		// Never later than it already was: retry() must not delay a task that is already due.
		dateNextProcess: iso(Math.min(dueAt(task), nowMs))
	};
	delete next.dateCompleted;
	if (next.retainFor === undefined && next.retainUntil !== undefined) {
		// A final task stores retainUntil instead of retainFor (as the original does): give the
		// attempt back the retain period it was created with.
		next.retainFor =
			next.retainUntil === -1 ? -1 : next.retainUntil - Date.parse(task.dateModified);
	}
	delete next.retainUntil;
	return next;
}

/**
 * The failed task given one more attempt, as retriedNow gives it (retryFailed); undefined for any
 * other status, so a bulk retry never touches a task that is waiting or running.
 * @param task The task.
 * @param nowMs The current time.
 * @returns The task due now, or undefined.
 */
export function failedRetried(task: BackgroundTask, nowMs: number): BackgroundTask | undefined {
	return task.status === TaskStatus.Failed ? retriedNow(task, nowMs) : undefined;
}

/**
 * Set retainUntil on a final task from its retainFor: -1 forever, n > 0 now + n.
 * @param task The final task (a copy owned by the caller).
 * @param nowMs The current time.
 * @param replaceRetainFor Remove retainFor once retainUntil is set, as the original does when a
 * task completes (its cancel keeps both).
 * @returns The same task.
 */
function withRetain(task: BackgroundTask, nowMs: number, replaceRetainFor = false): BackgroundTask {
	const retainFor = task.retainFor ?? 0;
	if (retainFor === -1) {
		task.retainUntil = -1;
	} else if (retainFor > 0) {
		task.retainUntil = nowMs + retainFor;
	}
	if (replaceRetainFor && task.retainUntil !== undefined) {
		delete task.retainFor;
	}
	return task;
}
