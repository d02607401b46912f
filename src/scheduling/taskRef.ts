// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { dueAt } from "../domain/rules.js";

/**
 * What the scheduler keeps in memory about a task it may run: enough to order it, nothing else.
 */
export interface ITaskRef {
	/**
	 * The task id.
	 */
	id: string;

	/**
	 * When it is due, epoch ms.
	 */
	due: number;

	/**
	 * When it was created, epoch ms (tie-break).
	 */
	created: number;

	/**
	 * Insertion order (last tie-break), so tasks created in one millisecond keep their order.
	 */
	seq: number;

	/**
	 * Among due tasks, higher first (absent in storage: 0).
	 */
	priority: number;
}

/**
 * The queue order: due, then created, then insertion.
 * @param a One ref.
 * @param b Another ref.
 * @returns Negative if a goes first.
 */
export function compareWaiting(a: ITaskRef, b: ITaskRef): number {
	return a.due - b.due || a.created - b.created || a.seq - b.seq;
}

/**
 * The order of due tasks: priority (higher first), then the queue order.
 * @param a A task.
 * @param b Another task.
 * @returns Negative when a goes first.
 */
export function compareReady(a: ITaskRef, b: ITaskRef): number {
	return b.priority - a.priority || compareWaiting(a, b);
}

/**
 * Insertion counter for queue order.
 */
let nextSeq = 0;

/**
 * The in-memory ref of a task.
 * @param task The task (its id, due and creation dates).
 * @returns The ref.
 */
export function toRef(
	task: Pick<BackgroundTask, "id" | "dateNextProcess" | "dateCreated" | "priority">
): ITaskRef {
	return {
		id: task.id,
		due: dueAt(task),
		created: Date.parse(task.dateCreated),
		seq: nextSeq++,
		priority: task.priority ?? 0
	};
}
