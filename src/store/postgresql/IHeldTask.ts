// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";

/**
 * A task this instance holds a lease on: claimed by fetch and waiting to start, or running.
 */
export interface IHeldTask {
	/**
	 * The task type.
	 */
	type: string;

	/**
	 * The lease owner that claimed it (this instance's id at the time).
	 */
	owner: string;

	/**
	 * The claim's dateModified: with the owner, the fence of the settle.
	 */
	claimedAt: string;

	/**
	 * When the lease was last set or renewed, performance.now() taken before the statement was
	 * sent, so the lease certainly lasts until this + leaseTimeout on the database's clock rate.
	 */
	leaseAt: number;

	/**
	 * When fetch claimed it, performance.now(): a task waiting longer than the local queue's time
	 * to live is given back.
	 */
	fetchedAt: number;

	/**
	 * The full task while claimed by fetch and not yet started; undefined once running.
	 */
	row?: BackgroundTask;

	/**
	 * The heartbeat found the lease gone (expired and taken, or the task removed elsewhere).
	 */
	lost: boolean;

	/**
	 * Removed through this instance while held: its settle writes nothing.
	 */
	removed: boolean;

	/**
	 * A settle of it is being written: the heartbeat does not take its cleared lease for a lost one.
	 */
	settling: boolean;
}
