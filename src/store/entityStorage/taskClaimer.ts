// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { IClaimResult } from "../../contracts/ITaskSource.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { claimed, isClaimable } from "../../domain/rules.js";
import type { OwnClaims } from "./ownClaims.js";
import type { RecentWrites } from "./recentWrites.js";
import type { SharedStoreWatch } from "./sharedStoreWatch.js";
import type { TaskStore } from "./taskStore.js";

/**
 * Claims and settles tasks for this instance, one at a time, and keeps the book of its own
 * claims (OwnClaims) that tells its writes from a second instance's. A claim re-reads the task
 * under its lock (TaskStore) and writes it processing if it is claimable now and not a stale
 * copy of an outcome this instance wrote lately (RecentWrites).
 */
export class TaskClaimer {
	/**
	 * Create a new TaskClaimer.
	 * @param store The single-task operations.
	 * @param recent The outcomes recorded lately.
	 * @param claims This instance's claims.
	 * @param watch The watch for a second instance on the store.
	 */
	constructor(
		private readonly store: TaskStore,
		private readonly recent: RecentWrites,
		private readonly claims: OwnClaims,
		private readonly watch: SharedStoreWatch
	) {}

	/**
	 * Claim one task: re-read it and write it processing if it is claimable now.
	 * @param id The task id.
	 * @param threadId The thread.
	 * @param startedAt When this session started.
	 * @returns The claim result.
	 */
	public async claim(id: string, threadId: string, startedAt: number): Promise<IClaimResult> {
		let seen: BackgroundTask | undefined;
		let stale = false;
		// Left claiming when the claim throws: its write may have landed, so this instance's own
		// claim could show up later as a processing task it does not hold.
		const before = this.claims.beginClaim(id);
		const task = await this.store.claim(id, t => {
			seen = t;
			const now = Date.now();
			stale = this.recent.isStale(t, now);
			return isClaimable(t, threadId, now, startedAt) && !stale ? claimed(t, now) : undefined;
		});
		if (task) {
			this.claims.claimWon(id, task.dateModified);
			this.recent.remember(task, false, Date.now());
			return { claimed: task };
		}
		this.claims.claimLost(id, before);
		if (stale) {
			// A copy older than this instance's last write of the task: a later scan reads it anew.
			return {};
		}
		// Read under the task's lock, which this instance's own claims and settles of it also
		// take: processing since this session started, and not held here, is another instance's.
		if (
			before === undefined &&
			seen?.status === TaskStatus.Processing &&
			Date.parse(seen.dateModified) > startedAt
		) {
			this.watch.report("foreignClaim", seen);
		}
		return seen?.status === TaskStatus.Pending && seen.threadId === threadId && seen.dateNextProcess
			? { pendingLater: seen }
			: {};
	}

	/**
	 * Record an outcome.
	 * @param task The settled task.
	 * @param remove Remove rather than write.
	 * @param claimedAt The claim's dateModified for a repeated write.
	 * @returns False when the task was removed while it ran.
	 */
	public async settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		// Settling until written: a write that fails is repeated by the runner (or released at
		// stop), and meanwhile the stored state is neither the claim nor the outcome for sure.
		this.claims.beginSettle(task.id);
		const written = await this.store.settle(task, remove, claimedAt);
		this.recent.remember(task, remove || !written, Date.now());
		this.claims.forget(task.id);
		return written;
	}

	/**
	 * Write a running task's progress while this instance holds its claim (TaskStore.writeProgress).
	 * @param id The task id.
	 * @param progress The progress, a JSON value.
	 * @returns False when the task is not held here as claimed (settling, settled, removed).
	 */
	public async writeProgress(id: string, progress: unknown): Promise<boolean> {
		const claim = this.claims.get(id);
		return claim?.phase === "held"
			? this.store.writeProgress(id, claim.claimedAt, progress)
			: false;
	}

	/**
	 * Forget a claim without recording anything (the instance stopped while the task ran).
	 * @param id The task id.
	 */
	public release(id: string): void {
		this.store.release(id);
		this.claims.forget(id);
	}
}
