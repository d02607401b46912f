// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { BackgroundTask } from "./backgroundTask.js";
import { isFinal } from "./rules.js";

// What happens to a final task afterwards: removed at once when it settles, or kept until its
// retain date passes and the sweep removes it. retainUntil itself is set by the rules (rules.ts).

/**
 * Should a final task be removed instead of stored: retainFor 0 (the default), or for a failed
 * task under the dead-letter setting, failedRetainFor 0. A task waiting for a retry is always kept
 * (the original removed it too, and with it the retry).
 * @param task The task.
 * @param failedRetainFor The dead-letter retain period of failed tasks, when set.
 * @returns True if it should be removed.
 */
export function removeOnSettle(task: BackgroundTask, failedRetainFor?: number): boolean {
	if (failedRetainFor !== undefined && task.status === TaskStatus.Failed) {
		return failedRetainFor === 0;
	}
	// retainFor exactly 0, as the original tests it: a final task that keeps retainUntil instead
	// (retainFor removed) or has no retain rule at all is kept.
	return isFinal(task.status) && task.retainFor === 0;
}

/**
 * Has a retained final task passed its retain date.
 * @param task The task.
 * @param nowMs The current time.
 * @returns True if the sweep should remove it.
 */
export function isExpired(
	task: Pick<BackgroundTask, "status" | "retainUntil">,
	nowMs: number
): boolean {
	const until = task.retainUntil ?? -1;
	return isFinal(task.status) && until > 0 && until < nowMs;
}
