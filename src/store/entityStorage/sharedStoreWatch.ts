// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { QueuedTask } from "../../contracts/ITaskSource.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { TaskLog } from "../../utils/taskLog.js";
import { sameClaim, type OwnClaim, type OwnClaims } from "./ownClaims.js";

/**
 * What a task as read can say about a second instance on the store: a task of this thread that
 * went processing after this session started without this instance claiming it
 * ("foreignClaim"), or a task this instance holds whose stored state is no longer its claim
 * ("changedUnderneath").
 */
export type SharedStoreSign = "foreignClaim" | "changedUnderneath";

/**
 * Watches for signs that a second instance uses the same store, which the entity-storage source
 * does not support (it has no atomic claim), and warns once, with the fix. It changes nothing
 * stored.
 */
export class SharedStoreWatch {
	/**
	 * A second instance on the store was reported.
	 * @internal
	 */
	private _reported = false;

	/**
	 * Create a new SharedStoreWatch.
	 * @param claims This instance's claims.
	 * @param read Reads a task again, to confirm a sign.
	 * @param log The log, for the warning.
	 */
	constructor(
		private readonly claims: OwnClaims,
		private readonly read: (id: string) => Promise<BackgroundTask | undefined>,
		private readonly log: TaskLog
	) {}

	/**
	 * Look for a sign in tasks just read. A sign is confirmed by reading the task again, with no
	 * claim or settle of this instance's in flight across the read, since this instance's own
	 * writes racing the scan look the same.
	 * @param tasks Tasks just read.
	 * @param startedAt When this session started.
	 */
	public async check(tasks: QueuedTask[], startedAt: number): Promise<void> {
		if (this._reported) {
			return;
		}
		try {
			await this.confirm(tasks, startedAt);
		} catch {
			// A read that fails here is not this check's business: the next scan looks again.
		}
	}

	/**
	 * Warn, once, that another instance seems to use the same store.
	 * @param sign What was seen.
	 * @param task The task it was seen on, of this instance's id.
	 */
	public report(sign: SharedStoreSign, task: Pick<BackgroundTask, "id" | "threadId">): void {
		if (!this._reported) {
			this._reported = true;
			this.log.log("warn", "sharedStore", { sign, id: task.id, instanceId: task.threadId });
		}
	}

	/**
	 * Confirm a sign by reading the task again, and report it.
	 * @param tasks Tasks just read.
	 * @param startedAt When this session started.
	 * @internal
	 */
	private async confirm(tasks: QueuedTask[], startedAt: number): Promise<void> {
		const suspect = tasks.find(t => signOf(t, this.claims.get(t.id), startedAt) !== undefined);
		if (!suspect) {
			return;
		}
		const before = this.claims.get(suspect.id);
		const claimsBegun = this.claims.claimsBegun;
		const current = await this.read(suspect.id);
		if (
			!current ||
			this.claims.claimsBegun !== claimsBegun ||
			!sameClaim(this.claims.get(suspect.id), before)
		) {
			return;
		}
		const sign = signOf(current, before, startedAt);
		if (sign) {
			this.report(sign, current);
		}
	}
}

/**
 * What a task as read says about another instance.
 * @param task The task as read.
 * @param mine This instance's entry for it, undefined when it neither claims nor holds it.
 * @param startedAt When this session started.
 * @returns The sign, or undefined.
 */
function signOf(
	task: QueuedTask,
	mine: OwnClaim | undefined,
	startedAt: number
): SharedStoreSign | undefined {
	if (mine === undefined) {
		return task.status === TaskStatus.Processing && Date.parse(task.dateModified) > startedAt
			? "foreignClaim"
			: undefined;
	}
	return mine.phase === "held" &&
		(task.status !== TaskStatus.Processing || task.dateModified !== mine.claimedAt)
		? "changedUnderneath"
		: undefined;
}
