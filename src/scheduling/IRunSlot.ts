// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { QueuedTask } from "../contracts/ITaskSource.js";

/**
 * What a run tells the one that started it (SlotPump's slot of the run).
 */
export interface IRunSlot {
	/**
	 * The handler's attempt has returned (or was given up before the handler was called); its
	 * outcome is not recorded yet. Not called for a run that ends before its attempt.
	 */
	handlerDone(): void;

	/**
	 * The run has ended, its outcome recorded (or given up).
	 * @param requeue The task when it is pending and should be queued again (a retry, or a task
	 * that was not due yet), else undefined.
	 */
	ended(requeue: QueuedTask | undefined): void;
}
