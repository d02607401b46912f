// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { HeldPhase } from "./heldPhase.js";

/**
 * A task this instance holds a lease on, as its owner (HeldTasks) shows it: read-only, changed
 * only through HeldTasks' methods.
 */
export interface IHeldTask {
	/**
	 * The task type.
	 */
	readonly type: string;

	/**
	 * The lease owner that claimed it (this instance's id at the time).
	 */
	readonly owner: string;

	/**
	 * The claim's dateModified: with the owner, the fence of the settle.
	 */
	readonly claimedAt: string;

	/**
	 * When the lease was last set or renewed, performance.now() taken before the statement was
	 * sent, so the lease certainly lasts until this + leaseTimeout on the database's clock rate.
	 */
	readonly leaseAt: number;

	/**
	 * When it was claimed, performance.now(): a task waiting longer than the local queue's time
	 * to live is given back.
	 */
	readonly fetchedAt: number;

	/**
	 * Where it is in its life here (HeldPhase).
	 */
	readonly phase: HeldPhase;
}
