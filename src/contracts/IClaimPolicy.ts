// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * How a task source claims, as the questions the scheduling layer asks of it. A source owned by
 * one instance (entity storage) only reads when it fetches and claims each task on its own; a
 * shared database (native PostgreSQL) claims whole batches when it fetches, so the tasks queued
 * here are already this instance's. Each member answers one question, so the scheduler never
 * branches on what kind of source it has.
 */
export interface IClaimPolicy {
	/**
	 * Does fetching already claim what it returns? Then a type's local queue holds only what this
	 * instance may keep claimed: a fetch asks for no more than the room left by the queued tasks
	 * and the fetches in flight, a serial type's queue holds one task (none while one runs here),
	 * and a rate-limited type's one window of starts. Otherwise a fetch reads a whole batch.
	 */
	readonly fetchClaims: boolean;

	/**
	 * May fetches of a non-serial type overlap? Then several are in flight at once, each for a
	 * share of the local queue, the next sent as soon as that share is free.
	 */
	readonly fetchesOverlap: boolean;

	/**
	 * Must fetched tasks that will not run here be given back (`ITaskSource.unclaim`)? Asked when
	 * a type is unregistered with tasks queued, and when a fetch returns for a queue no longer in
	 * use.
	 */
	readonly givesBackUnrun: boolean;

	/**
	 * Is a fetched task newer than a ref of it already queued here? Then it replaces that ref (a
	 * retry may have made it due sooner), and a ref that arrived during a scan is dropped when its
	 * id is queued or running by then. Otherwise a fetched task is queued only when not yet known.
	 */
	readonly fetchedIsNewest: boolean;

	/**
	 * Must a task this instance made due now be fetched rather than queued directly? Then its
	 * type is woken, and whichever instance fetches first claims it; a task due later is still
	 * queued here and claimed when it falls due.
	 */
	readonly dueNowIsFetched: boolean;

	/**
	 * Does a non-serial run free its slot once its handler returns, before its outcome is
	 * recorded? Then the claim keeps the task this instance's until the record is written, and the
	 * next task does not wait for it.
	 */
	readonly freesSlotBeforeRecord: boolean;

	/**
	 * Is a serial type's next task fetched only after the last run is recorded? Then the type is
	 * woken when a run of it ends.
	 */
	readonly serialNextIsFetched: boolean;

	/**
	 * Does the source count a rate limit's starts across every instance (`ITaskSource.takeStart`)?
	 * Otherwise only this instance's own window applies.
	 */
	readonly sharesRateLimit: boolean;
}
