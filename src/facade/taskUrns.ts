// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GuardError, Is, Urn } from "@twin.org/core";
import { fromTaskUrn, toTaskUrn } from "../domain/taskModel.js";

/**
 * A connector's task URNs, which its public methods return and take, mapped to and from the
 * storage ids the commands work on.
 */
export class TaskUrns {
	/**
	 * Create the mapping of a connector.
	 * @param source The connector's class name, for errors.
	 * @param namespace The connector's namespace.
	 */
	constructor(
		private readonly source: string,
		private readonly namespace: string
	) {}

	/**
	 * The URN of a task's storage id, as create() returns it.
	 * @param id The storage id.
	 * @returns The URN.
	 */
	public urnOf(id: string): string {
		return toTaskUrn(this.namespace, id);
	}

	/**
	 * The storage id of a task URN, as the connector's public methods take it.
	 * @param property The argument name, for errors.
	 * @param taskId The URN.
	 * @returns The storage id.
	 * @throws GuardError guard.urn when it is not a task URN of the namespace.
	 */
	public storageIdOf(property: string, taskId: string): string {
		Urn.guard(this.source, property, taskId);
		const id = fromTaskUrn(this.source, this.namespace, taskId);
		if (!Is.stringValue(id)) {
			throw new GuardError(this.source, "guard.urn", property, taskId);
		}
		return id;
	}
}
