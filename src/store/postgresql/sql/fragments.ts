// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Pieces of SQL that several statements share, so each condition is written once.

/**
 * The database clock in epoch milliseconds. Leases are measured on it, so the nodes' own clocks
 * never decide whether a lease expired. A scalar subquery, so a statement reads the clock once
 * (an InitPlan) rather than once per row: a claim tests it on every processing row its index scan
 * passes and sets it on every row it takes (docs/performance.md, "The clock once a statement").
 */
export const DB_NOW_MS = "(SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint)";

/**
 * A task a node may claim: pending, or processing under a lease that expired. A processing row
 * without a lease (written by the entity-storage path, or by a node that crashed before the
 * lease columns existed) counts as expired.
 */
export const CLAIMABLE = `("status" = 'pending' OR ("status" = 'processing' AND ("leaseExpires" IS NULL OR "leaseExpires" < ${DB_NOW_MS})))`;

/**
 * The claim order: highest priority first (NULL is 0), then earliest due, oldest, id. The claim
 * index (INDEXES, "_claim_due") has these keys after type and thread, so a claim reads the
 * due rows in this order and stops after its LIMIT without a sort.
 */
export const CLAIM_ORDER = `COALESCE("priority", 0) DESC, "dateNextProcess", "dateCreated", "id"`;

/**
 * The rows a locking subquery selected, as the condition of the UPDATE that changes them:
 * `t.ctid = ANY(ARRAY(subquery))`. The subquery locks the rows (FOR UPDATE) and the UPDATE reads
 * them by their physical address (a Tid Scan): a row this statement holds locked cannot get a
 * newer version from anyone else before it commits, so the address stays its own. A join or an
 * array of ids planned worse (docs/performance.md).
 * @param subquery The SELECT of ctid that locks the rows.
 * @returns The condition on t.
 */
export const LOCKED_ROWS = (subquery: string): string => `t.ctid = ANY(ARRAY(
${subquery}
))`;

/**
 * Counts the attempt a claim starts, for tasks that record attempts (rules.claimed: NULL stays
 * NULL); in the SET list of the claim statements, whose target is aliased t.
 */
export const COUNT_ATTEMPT = `"attempts" = t."attempts" + 1`;

/**
 * A lease's end on the database's clock.
 * @param param The parameter holding the lease's length in ms.
 * @returns The expression.
 */
export const LEASE_END = (param: string): string => `${DB_NOW_MS} + ${param}::bigint`;

/**
 * The condition of the dedup index: an active task (pending or processing) with a key; also the
 * conflict target's predicate of the dedup inserts, written identically so the index is inferred.
 * "Active" is told by "dateNextProcess", which the rules keep set exactly while a task is pending
 * or processing, rather than by "status": a partial index's condition columns block HOT updates
 * like its keys do, so a condition on "status" would make every claim a non-HOT update
 * (docs/performance.md).
 */
export const DEDUP_ACTIVE = `"dedupKey" IS NOT NULL AND "dateNextProcess" IS NOT NULL`;

/**
 * The SET list of every claim: processing, the claim's time, the lease, one more attempt.
 * @param at The number of the parameter of now (ISO); owner and lease ms follow it.
 * @returns The SET list.
 */
export function claimSet(at: number): string {
	return `"status" = 'processing', "dateModified" = $${at}, "leaseOwner" = $${at + 1}, "leaseExpires" = ${LEASE_END(`$${at + 2}`)},
	${COUNT_ATTEMPT}`;
}

/**
 * The condition that a type is not paused (no row in the paused table), so no node claims its
 * tasks, even one that missed the pause's notification.
 * @param pausedTable The quoted table of paused types.
 * @param type The SQL expression of the type.
 * @returns The condition.
 */
export function notPaused(pausedTable: string, type: string): string {
	return `NOT EXISTS (SELECT 1 FROM ${pausedTable} AS p WHERE p."type" = ${type})`;
}

/**
 * The columns the scheduler's queues need (ITaskSource's QueuedTask), for statements that hand
 * tasks to the local queue without their payload, result or error.
 */
export const QUEUED_COLUMNS = `"id", "type", "threadId", "status", "dateNextProcess", "dateCreated", "dateModified", "priority"`;

/**
 * The SET list of a retry (rules.retriedNow), whose target is aliased t: pending, due no later
 * than now, no dateCompleted or retainUntil; a final task's retainFor (removed when retainUntil
 * was set) is given back: -1 stays -1, else retainUntil - dateModified.
 * @param at The number of the parameter of now (ISO).
 * @returns The SET list.
 */
export function retriedSet(at: number): string {
	return `"status" = 'pending', "dateModified" = $${at},
		"dateNextProcess" = LEAST(t."dateNextProcess", $${at}),
		"dateCompleted" = NULL,
		"retainFor" = CASE
			WHEN t."retainFor" IS NULL AND t."retainUntil" IS NOT NULL THEN
				CASE WHEN t."retainUntil" = -1 THEN -1
				ELSE t."retainUntil" - (EXTRACT(EPOCH FROM t."dateModified"::timestamptz) * 1000)::bigint END
			ELSE t."retainFor" END,
		"retainUntil" = NULL`;
}
