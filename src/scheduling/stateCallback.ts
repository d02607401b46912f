// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { toCallbackTask } from "../domain/taskModel.js";
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import type { TaskLog } from "../utils/taskLog.js";

/**
 * Call a type's state-change callback with a task; a callback that throws or rejects is logged
 * and otherwise ignored. Not an async function: with no callback nothing is allocated, and a
 * callback's promise is awaited by the caller as it is.
 * @param handler The handler, with its callback if any.
 * @param task The task.
 * @param log The log, for a callback that fails.
 * @returns The callback's end to wait for, if there is a callback to wait for.
 */
export function callStateCallback(
	handler: IRegisteredHandler,
	task: BackgroundTask,
	log: TaskLog
): Promise<void> | undefined {
	if (!handler.stateChangeCallback) {
		return undefined;
	}
	const failed = (err: unknown): void => {
		log.log("error", "stateChangeCallbackFailed", { type: task.type, id: task.id }, err);
	};
	try {
		const called: unknown = handler.stateChangeCallback(toCallbackTask(task));
		// Promise.resolve returns a native promise as it is, and waits for any other thenable.
		return called === undefined ? undefined : Promise.resolve(called).then(undefined, failed);
	} catch (err) {
		failed(err);
		return undefined;
	}
}
