// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GuardError, Is, Urn } from "@twin.org/core";
import { fromTaskUrn } from "../domain/taskModel.js";

/**
 * The storage id of a task URN, as the connector's public methods take it.
 * @param source The class name, for errors.
 * @param namespace The connector's namespace.
 * @param property The argument name, for errors.
 * @param taskId The URN.
 * @returns The storage id.
 * @throws GuardError guard.urn when it is not a task URN of the namespace.
 */
export function storageIdOf(
	source: string,
	namespace: string,
	property: string,
	taskId: string
): string {
	Urn.guard(source, property, taskId);
	const id = fromTaskUrn(source, namespace, taskId);
	if (!Is.stringValue(id)) {
		throw new GuardError(source, "guard.urn", property, taskId);
	}
	return id;
}
