// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What this instance last did to a task it claims or holds, as the shared-store watch needs to
 * know it:
 * - "claiming": a claim's write is in flight, or failed (it may have landed);
 * - "held": the claim was written, and storage should hold the task processing with the claim's
 *   dateModified (claimedAt) until this instance settles it;
 * - "settling": an outcome's write is in flight, or failed and will be repeated or released.
 * While "claiming" or "settling" the stored state is neither surely the claim nor surely the
 * outcome, so nothing is concluded from it.
 */
export type OwnClaim =
	| { readonly phase: "claiming" }
	| { readonly phase: "held"; readonly claimedAt: string }
	| { readonly phase: "settling" };

/**
 * The entry of a claim or settle in flight (shared: it carries nothing of its own).
 */
const CLAIMING: OwnClaim = { phase: "claiming" };

/**
 * The entry of a settle in flight.
 */
const SETTLING: OwnClaim = { phase: "settling" };

/**
 * This instance's claims: one OwnClaim per task it is claiming, holds or is settling, changed
 * only through the methods below, and a count of the claims begun so a check can tell whether a
 * claim raced it.
 *
 * The lifecycle of one task's entry is none -> claiming -> held -> settling -> none, with
 * claiming -> (what was there before) when the task could not be claimed, and held or settling ->
 * none on release. Each method is an event and is accepted in any phase: a run abandoned by
 * stop() may still finish its claim or settle after the next start() began claiming the same
 * task, and the entry then records whichever event came last.
 */
export class OwnClaims {
	/**
	 * The entry of each task this instance is claiming, holds or is settling.
	 * @internal
	 */
	private readonly _byId = new Map<string, OwnClaim>();

	/**
	 * How many claims this instance has begun.
	 * @internal
	 */
	private _claimsBegun = 0;

	/**
	 * How many claims this instance has begun: a check that reads storage compares it before and
	 * after, to know whether a claim of this instance's raced the read.
	 * @returns The count.
	 */
	public get claimsBegun(): number {
		return this._claimsBegun;
	}

	/**
	 * This instance's entry for a task.
	 * @param id The task id.
	 * @returns The entry, or undefined when this instance neither claims nor holds the task.
	 */
	public get(id: string): OwnClaim | undefined {
		return this._byId.get(id);
	}

	/**
	 * A claim of the task begins: claiming, from any phase.
	 * @param id The task id.
	 * @returns The entry before, to restore when the task cannot be claimed (claimLost).
	 */
	public beginClaim(id: string): OwnClaim | undefined {
		const before = this._byId.get(id);
		this._claimsBegun++;
		this._byId.set(id, CLAIMING);
		return before;
	}

	/**
	 * The claim was written: held, with the claim's dateModified.
	 * @param id The task id.
	 * @param claimedAt The claimed task's dateModified.
	 */
	public claimWon(id: string, claimedAt: string): void {
		this._byId.set(id, { phase: "held", claimedAt });
	}

	/**
	 * The task could not be claimed: the entry goes back to what it was before the claim began.
	 * @param id The task id.
	 * @param before What beginClaim returned.
	 */
	public claimLost(id: string, before: OwnClaim | undefined): void {
		if (before === undefined) {
			this._byId.delete(id);
		} else {
			this._byId.set(id, before);
		}
	}

	/**
	 * An outcome's write begins: settling.
	 * @param id The task id.
	 */
	public beginSettle(id: string): void {
		this._byId.set(id, SETTLING);
	}

	/**
	 * The outcome was recorded, or the claim given up (release): the task is no longer this
	 * instance's.
	 * @param id The task id.
	 */
	public forget(id: string): void {
		this._byId.delete(id);
	}
}

/**
 * Whether two entries say the same: the same phase and, when held, the same claim.
 * @param a One entry, or undefined for none.
 * @param b The other.
 * @returns True when they are alike.
 */
export function sameClaim(a: OwnClaim | undefined, b: OwnClaim | undefined): boolean {
	if (a === undefined || b === undefined) {
		return a === b;
	}
	return a.phase === b.phase && (a.phase !== "held" || a.claimedAt === (b as typeof a).claimedAt);
}
