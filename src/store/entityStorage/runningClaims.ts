// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Where a claimed task stands until its outcome is recorded: "running", or "removed" once a
 * remove() of it ran meanwhile, so that its outcome is not written back.
 */
export type RunningClaimPhase = "running" | "removed";

/**
 * The tasks the store has claimed for this instance and not yet settled or released, each with
 * its phase, changed only through the methods below (which the store calls under the task's
 * lock, except release). The lifecycle is none -> running -> (removed) -> none.
 */
export class RunningClaims {
	/**
	 * The phase of each claimed task.
	 * @internal
	 */
	private readonly _byId = new Map<string, RunningClaimPhase>();

	/**
	 * A claim was written: running. A task already in the book keeps its phase (a run abandoned by
	 * stop() may still hold it when the next session claims it again).
	 * @param id The task id.
	 */
	public claimed(id: string): void {
		if (!this._byId.has(id)) {
			this._byId.set(id, "running");
		}
	}

	/**
	 * The task was removed: a running claim becomes removed; a task not claimed is not recorded.
	 * @param id The task id.
	 */
	public removed(id: string): void {
		if (this._byId.has(id)) {
			this._byId.set(id, "removed");
		}
	}

	/**
	 * Whether the task is claimed here and running (not removed meanwhile).
	 * @param id The task id.
	 * @returns True while its run may still write to it.
	 */
	public isRunning(id: string): boolean {
		return this._byId.get(id) === "running";
	}

	/**
	 * Whether the task was removed while claimed.
	 * @param id The task id.
	 * @returns True when its outcome must not be written back.
	 */
	public wasRemoved(id: string): boolean {
		return this._byId.get(id) === "removed";
	}

	/**
	 * The outcome was recorded or the claim given up: the task leaves the book.
	 * @param id The task id.
	 */
	public forget(id: string): void {
		this._byId.delete(id);
	}
}
