// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IBackgroundTask } from "@twin.org/background-task-models";

/**
 * A task as get() and query() return it (and as the state-change callback receives it): the
 * original's IBackgroundTask, plus the progress its handler reported last, present only when a
 * handler of the task reported progress (getTaskContext().reportProgress).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface IBackgroundTaskWithProgress<T = any, U = any> extends IBackgroundTask<T, U> {
	/**
	 * The last progress a handler of the task reported, any JSON value; absent when none did.
	 */
	progress?: unknown;
}
