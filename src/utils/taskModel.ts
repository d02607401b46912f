// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IBackgroundTask } from "@twin.org/background-task-models";
import { Converter, GeneralError, RandomHelper, Urn } from "@twin.org/core";
import type { BackgroundTask } from "../entities/backgroundTask.js";
import { iso } from "../scheduling/rules.js";

/**
 * The URN namespace identifier of task ids.
 */
const URN_NAMESPACE = "background-task";

/**
 * A new task id: 32 lower-case hex characters from RandomHelper, so tests can make ids
 * deterministic by replacing RandomHelper.generate.
 * @returns The id.
 */
export function newTaskId(): string {
	return Converter.bytesToHex(RandomHelper.generate(16));
}

/**
 * The public id of a task: background-task:<namespace>:<id>.
 * @param namespace The connector namespace.
 * @param id The storage id.
 * @returns The URN.
 */
export function toTaskUrn(namespace: string, id: string): string {
	return `${URN_NAMESPACE}:${namespace}:${id}`;
}

/**
 * The storage id of a public task id. The caller has already guarded that the value is a URN.
 * @param source The class name for errors.
 * @param namespace The connector namespace.
 * @param taskId The URN.
 * @returns The storage id.
 * @throws GeneralError namespaceMismatch when the URN belongs to another namespace.
 */
export function fromTaskUrn(source: string, namespace: string, taskId: string): string {
	const urn = Urn.fromValidString(taskId);
	if (urn.namespaceIdentifier() !== URN_NAMESPACE || urn.namespaceMethod() !== namespace) {
		throw new GeneralError(source, "namespaceMismatch", {
			namespace: `${URN_NAMESPACE}:${namespace}`,
			id: taskId
		});
	}
	return urn.namespaceSpecific(1);
}

/**
 * The task as callers see it: storage fields mapped, retainUntil as an ISO date when it is a
 * positive timestamp. Payload and result are copies, so a caller changing them cannot change a
 * stored task.
 * @param namespace The connector namespace.
 * @param task The stored task.
 * @returns The public task.
 */
export function toTaskModel<T = unknown, U = unknown>(
	namespace: string,
	task: BackgroundTask
): IBackgroundTask<T, U> {
	const model: IBackgroundTask<T, U> = {
		id: toTaskUrn(namespace, task.id),
		type: task.type,
		threadId: task.threadId,
		retryInterval: task.retryInterval,
		retriesRemaining: task.retriesRemaining,
		dateCreated: task.dateCreated,
		dateModified: task.dateModified,
		dateCompleted: task.dateCompleted,
		dateCancelled: task.dateCancelled,
		dateRetainUntil: (task.retainUntil ?? 0) > 0 ? iso(task.retainUntil as number) : undefined,
		status: task.status,
		payload: copy(task.payload) as T,
		result: copy(task.result) as U,
		error: task.error
	};
	for (const key of Object.keys(model) as (keyof IBackgroundTask)[]) {
		if (model[key] === undefined) {
			delete model[key];
		}
	}
	return model;
}

/**
 * Copy a JSON value.
 * @param value The value.
 * @returns The copy.
 */
function copy(value: unknown): unknown {
	return value === undefined || value === null || typeof value !== "object"
		? value
		: structuredClone(value);
}
