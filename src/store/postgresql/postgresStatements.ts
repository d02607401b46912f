// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { SortDirection } from "@twin.org/entity";
import { channelName, derivedName, quoteIdentifier } from "./postgresNames.js";
import { TASK_COLUMNS } from "./rowMapping.js";

/**
 * The database clock in epoch milliseconds. Leases are measured on it, so the nodes' own clocks
 * never decide whether a lease expired.
 */
const DB_NOW_MS = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint";

/**
 * A task a node may claim: pending, or processing under a lease that expired. A processing row
 * without a lease (written by the entity-storage path, or by a node that crashed before the
 * lease columns existed) counts as expired.
 */
const CLAIMABLE = `("status" = 'pending' OR ("status" = 'processing' AND ("leaseExpires" IS NULL OR "leaseExpires" < ${DB_NOW_MS})))`;

/**
 * The claim order: highest priority first (NULL is 0), then earliest due, oldest, id. The claim
 * index (INDEXES, "_claim_priority") has these keys after type and thread, so a claim reads the
 * due rows in this order and stops after its LIMIT without a sort.
 */
const CLAIM_ORDER = `COALESCE("priority", 0) DESC, "dateNextProcess", "dateCreated", "id"`;

/**
 * The rows a locking subquery selected, as the condition of the UPDATE that changes them:
 * `t.ctid = ANY(ARRAY(subquery))`. The subquery locks the rows (FOR UPDATE) and the UPDATE reads
 * them where they are, by their physical address: a row this statement holds locked cannot get a
 * newer version from anyone else before it commits, so the address stays its own. Joined instead
 * (`FROM (subquery) AS c WHERE t."id" = c."id"`), a table with statistics (any table autovacuum
 * has analyzed) got a hash join over a sequential scan of the whole table for every claim:
 * measured on a 30,000-task backlog after ANALYZE, 40 to 44 us of server CPU per task against
 * 23, and 16,000 to 18,000 tasks/s against 23,000 (docs/performance.md). An array of ids
 * (`t."id" = ANY(ARRAY(...))`) kept the plan at any table size but probed the primary key once
 * per row: 1.1 of a 256-task claim's 1.8 ms, which a scan by address (Tid Scan) does in 0.15.
 * @param subquery The SELECT of ctid that locks the rows.
 * @returns The condition on t.
 */
const LOCKED_ROWS = (subquery: string): string => `t.ctid = ANY(ARRAY(
${subquery}
))`;

/**
 * Counts the attempt a claim starts, for tasks that record attempts (rules.claimed: NULL stays
 * NULL); in the SET list of the claim statements, whose target is aliased t.
 */
const COUNT_ATTEMPT = `"attempts" = t."attempts" + 1`;

/**
 * The condition of the dedup index: an active task (pending or processing) with a key; also the
 * conflict target's predicate of the dedup inserts, written identically so the index is inferred.
 *
 * "Active" is told by "dateNextProcess", which the rules keep set exactly while a task is pending
 * or processing (rules.settled and rules.cancelled clear it when a task becomes final,
 * rules.retriedNow sets it again, a claim leaves it), rather than by "status": a partial index's
 * condition columns block HOT updates like its keys do, so a condition on "status" would make
 * every claim (pending to processing) a non-HOT update writing an entry into every index.
 * Measured on a table the backend creates, claims and settles of 20,000 tasks: with the condition
 * on "status", no claim was HOT and claim plus settle wrote 1,064 to 1,116 bytes of WAL per task;
 * with this one, 8,037 to 10,885 updates were HOT and 802 to 839 bytes (without the index: 791 to
 * 907).
 */
const DEDUP_ACTIVE = `"dedupKey" IS NOT NULL AND "dateNextProcess" IS NOT NULL`;

/**
 * The suffix of the dedup index's name.
 */
const DEDUP_INDEX = "_dedup";

/**
 * The SQL types of the entity's columns (as the backend creates them), for jsonb_to_recordset.
 */
const COLUMN_TYPES: { [column in (typeof TASK_COLUMNS)[number]]: string } = {
	id: "text",
	type: "text",
	threadId: "text",
	retryInterval: "double precision",
	retriesRemaining: "double precision",
	dateCreated: "text",
	dateModified: "text",
	dateNextProcess: "text",
	dateCancelled: "text",
	dateCompleted: "text",
	retainFor: "double precision",
	retainUntil: "bigint",
	status: "text",
	payload: "jsonb",
	result: "jsonb",
	error: "jsonb",
	priority: "integer",
	dedupKey: "text",
	retryBackoff: "text",
	retryMaxInterval: "double precision",
	attempts: "integer"
};

/**
 * The columns written by a settle, with their SQL types in jsonb_to_recordset.
 */
const SETTLE_COLUMNS: [column: string, type: string][] = [
	["status", "text"],
	["dateModified", "text"],
	["dateNextProcess", "text"],
	["dateCancelled", "text"],
	["dateCompleted", "text"],
	["retryInterval", "double precision"],
	["retriesRemaining", "double precision"],
	["retainFor", "double precision"],
	["retainUntil", "bigint"],
	["result", "jsonb"],
	["error", "jsonb"],
	["attempts", "integer"]
];

/**
 * The text of every statement the native backend runs on one table. Values always arrive as
 * parameters ($1, $2, ...); the only names spliced into the text are the checked table name and
 * names derived from it, quoted, and sort columns taken from the entity's fixed column list.
 *
 * Each state change is one statement whose WHERE holds the condition under which it is allowed,
 * so two nodes racing on a task cannot both succeed:
 * - claims (fetch, claim) take only pending tasks or processing tasks whose lease expired, and
 *   batch claims lock with FOR UPDATE SKIP LOCKED, so concurrent batches never take the same row;
 * - settles are fenced by lease owner, status processing and the claim's dateModified, so a node
 *   that lost its lease cannot write over the new owner's claim or result;
 * - retry, cancel, remove and sweep carry their status conditions.
 */
export class PostgresStatements {
	/**
	 * The quoted table name.
	 */
	public readonly table: string;

	/**
	 * The notification channel.
	 */
	public readonly channel: string;

	/**
	 * The entity's columns, quoted, comma separated.
	 */
	public readonly columns: string;

	/**
	 * The name of the dedup index (unquoted, as a unique violation names it).
	 */
	public readonly dedupIndex: string;

	/**
	 * The quoted name of the table of rate-limit windows (takeStart).
	 */
	public readonly rateTable: string;

	/**
	 * The quoted name of the table of serial types' holders (serialTableName).
	 */
	public readonly serialTable: string;

	/**
	 * Claim up to $3 due tasks of type $1 for thread $2 ($4 = now ISO, $5 = owner,
	 * $6 = lease ms), highest priority first, then earliest due.
	 */
	public readonly fetch: string;

	/**
	 * Claim task $1 of thread $2 ($3 = now ISO, $4 = owner, $5 = lease ms).
	 */
	public readonly claim: string;

	/**
	 * Claim the first task in claim order (highest priority, then earliest due) of serial type $1
	 * for thread $2 ($3 = now ISO, $4 = owner, $5 = lease ms), only while no task of the type is
	 * processing under a live lease, and record it as the type's holder in the serial table; run
	 * after serialLock in one transaction.
	 */
	public readonly fetchSerial: string;

	/**
	 * Claim task $1, of a serial type, for thread $2 ($3 = now ISO, $4 = owner, $5 = lease ms),
	 * only while no task of its type is processing under a live lease and no other claimable task
	 * of it comes before it in claim order, and record it as the type's holder in the serial table;
	 * run after serialLock in one transaction.
	 */
	public readonly claimSerial: string;

	/**
	 * The type of task $1.
	 */
	public readonly typeOf: string;

	/**
	 * Take the advisory lock of serial type $2 on table $1 for the transaction, waiting for a claim
	 * of the type in progress on another node to commit.
	 */
	public readonly serialLock: string;

	/**
	 * Notify every instance that tasks of type $2 may be due ($1 = channel, $3 = sender).
	 */
	public readonly notify: string;

	/**
	 * Renew the lease of task $1 still held as claimed by fetch ($2 = owner, $3 = the claim's
	 * dateModified, $4 = lease ms).
	 */
	public readonly reconfirm: string;

	/**
	 * The queue columns of task $1 when it is pending for thread $2.
	 */
	public readonly pendingOf: string;

	/**
	 * Renew the leases of the tasks $1 (text[]) held by owner $2 ($3 = lease ms).
	 */
	public readonly heartbeat: string;

	/**
	 * Give back the tasks $1 (text[]) held by owner $2, not started ($3 = now ISO).
	 */
	public readonly unclaim: string;

	/**
	 * Insert a task ($1..$16 the entity's columns, JSONB as text) and notify ($17 = channel,
	 * $18 = the sender's instance id; the payload is "<sender>:<type>").
	 */
	public readonly insert: string;

	/**
	 * Insert a task with a dedupKey unless a task of its type and key is active (pending or
	 * processing): the same parameters as insert. Returns the id of the task inserted (and notifies)
	 * or of the active one it conflicted with; no row when the conflicting task is not visible to
	 * the statement's snapshot (it committed while the statement ran): run insertDedupUpsert.
	 */
	public readonly insertDedup: string;

	/**
	 * insertDedup when it returned no row: the same, as an upsert whose update changes nothing,
	 * so it returns the id of the task inserted (and notifies) or of the active one; "inserted" says
	 * which.
	 */
	public readonly insertDedupUpsert: string;

	/**
	 * Insert tasks, one JSON array parameter $1 of records (rowMapping.taskRecord), and notify once
	 * per type ($2 = channel, $3 = the sender's instance id).
	 */
	public readonly insertMany: string;

	/**
	 * Count the tasks per type and status.
	 */
	public readonly counts: string;

	/**
	 * Count the tasks of type $1 per status.
	 */
	public readonly countsOfType: string;

	/**
	 * Take a start of type $1 from its current window of $3 ms on the database's clock, allowed
	 * while fewer than $2 were taken in the window: returns "granted" (the count taken, NULL when
	 * refused) and "waitMs" (until the window ends).
	 */
	public readonly takeStart: string;

	/**
	 * Read task $1.
	 */
	public readonly get: string;

	/**
	 * Make task $1 due now or give a failed task another attempt ($2 = now ISO, $3 = channel,
	 * $4 = the sender's instance id).
	 */
	public readonly retry: string;

	/**
	 * Cancel task $1 while pending ($2 = now ISO, $3 = now ms).
	 */
	public readonly cancel: string;

	/**
	 * Remove task $1.
	 */
	public readonly remove: string;

	/**
	 * The common settle batch, every task removed (retainFor 0) and claimed by one owner, as two
	 * text arrays of the same length (ids $1, their claims' dateModified $2) and the owner $3:
	 * about half the bytes of settle()'s JSON records and no JSON to parse on either side. Returns
	 * the id of each task the fence kept out (usually none), as settle() does.
	 */
	public readonly settleRemovals: string;

	/**
	 * Remove final tasks whose retainUntil is before $1 (ms), and every rate-limit window of a type
	 * that has a later one (it is over).
	 */
	public readonly sweep: string;

	/**
	 * One due pending task of thread $1 per type ($2 = now ISO), among the 100 due first.
	 */
	public readonly dueSample: string;

	/**
	 * Create statements for a table.
	 * @param tableName The checked table name.
	 */
	constructor(tableName: string) {
		const t = quoteIdentifier(tableName);
		this.table = t;
		this.channel = channelName(tableName);
		this.rateTable = quoteIdentifier(PostgresStatements.rateTableName(tableName));
		this.serialTable = quoteIdentifier(PostgresStatements.serialTableName(tableName));
		this.dedupIndex = derivedName(tableName, DEDUP_INDEX);
		this.columns = TASK_COLUMNS.map(c => quoteIdentifier(c)).join(", ");
		const returning = TASK_COLUMNS.map(c => `t.${quoteIdentifier(c)}`).join(", ");
		const lease = (param: string): string => `${DB_NOW_MS} + ${param}::bigint`;

		this.fetch = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $4, "leaseOwner" = $5, "leaseExpires" = ${lease("$6")},
	${COUNT_ATTEMPT}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${t}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $4 AND ${CLAIMABLE}
	ORDER BY ${CLAIM_ORDER}
	LIMIT $3
	FOR UPDATE SKIP LOCKED`)}
RETURNING ${returning}`;

		this.claim = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")},
	${COUNT_ATTEMPT}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${CLAIMABLE}
RETURNING ${returning}`;

		// A serial type: none of it is claimed while a task of the type is processing under a live
		// lease (a dead node's lease expires, so it cannot hold the type forever). The statement
		// runs in a transaction that first takes the type's advisory lock (serialLock), so claims
		// of the type are one at a time across all nodes and each one's snapshot, taken after the
		// lock, sees the claim before it. Every serial claim records the task it took in the serial
		// table (holding), so only that task can be running: the gate reads it by key, whatever the
		// backlog. A type with no record yet (its first serial claim, or tasks claimed before the
		// table existed) is checked by a scan of its rows.
		const serialGate = (type: string): string => `NOT EXISTS (
		SELECT 1 FROM ${this.serialTable} AS s JOIN ${t} AS h ON h."id" = s."taskId"
		WHERE s."type" = ${type} AND h."status" = 'processing' AND h."leaseExpires" >= ${DB_NOW_MS}
	) AND (EXISTS (SELECT 1 FROM ${this.serialTable} AS s WHERE s."type" = ${type}) OR NOT EXISTS (
		SELECT 1 FROM ${t} AS r
		WHERE r."type" = ${type} AND r."status" = 'processing' AND r."leaseExpires" >= ${DB_NOW_MS}
	))`;
		const holding = (claim: string): string => `WITH c AS (
${claim}
), h AS (
	INSERT INTO ${this.serialTable} ("type", "taskId") SELECT "type", "id" FROM c
	ON CONFLICT ("type") DO UPDATE SET "taskId" = EXCLUDED."taskId"
)
SELECT * FROM c`;
		this.serialLock = `SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))`;
		this.fetchSerial = holding(`UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")},
	${COUNT_ATTEMPT}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${t}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $3 AND ${CLAIMABLE}
		AND ${serialGate("$1::text")}
	ORDER BY ${CLAIM_ORDER}
	LIMIT 1
	FOR UPDATE`)}
RETURNING ${returning}`);

		// "Before it" in claim order: a higher priority, or the same priority and an earlier
		// (due, created, id). Two conditions, each a range of the claim index (a row comparison
		// after the priority's equality), so neither walks the type's backlog.
		const eClaimable = `(e."status" = 'pending' OR (e."status" = 'processing' AND (e."leaseExpires" IS NULL OR e."leaseExpires" < ${DB_NOW_MS})))`;
		const ahead = (condition: string): string => `NOT EXISTS (
		SELECT 1 FROM ${t} AS e
		WHERE e."type" = t."type" AND e."threadId" = $2 AND e."dateNextProcess" <= $3 AND ${eClaimable}
			AND ${condition}
	)`;
		this.claimSerial = holding(`UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")},
	${COUNT_ATTEMPT}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${CLAIMABLE.replaceAll('"status"', 't."status"').replaceAll('"leaseExpires"', 't."leaseExpires"')}
	AND ${serialGate('t."type"')}
	AND ${ahead(`COALESCE(e."priority", 0) > COALESCE(t."priority", 0)`)}
	AND ${ahead(`COALESCE(e."priority", 0) = COALESCE(t."priority", 0)
			AND (e."dateNextProcess", e."dateCreated", e."id") < (t."dateNextProcess", t."dateCreated", t."id")`)}
RETURNING ${returning}`);

		this.typeOf = `SELECT "type" FROM ${t} WHERE "id" = $1`;

		this.notify = `SELECT pg_notify($1, $3::text || ':' || $2::text)`;

		this.reconfirm = `UPDATE ${t}
SET "leaseExpires" = ${lease("$4")}
WHERE "id" = $1 AND "leaseOwner" = $2 AND "status" = 'processing' AND "dateModified" = $3
RETURNING "id"`;

		this.pendingOf = `SELECT "id", "type", "threadId", "status", "dateNextProcess", "dateCreated", "dateModified", "priority"
FROM ${t} WHERE "id" = $1 AND "threadId" = $2 AND "status" = 'pending'`;

		// SKIP LOCKED: a row locked by this node's own settle in flight (which clears the lease
		// itself) is not waited for. Waiting made the heartbeat and a batched settle, on two
		// connections of one node, deadlock on rows locked in different orders.
		this.heartbeat = `UPDATE ${t} AS t
SET "leaseExpires" = ${lease("$3")}
WHERE ${LOCKED_ROWS(`	SELECT ctid FROM ${t}
	WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'
	ORDER BY "id"
	FOR UPDATE SKIP LOCKED`)}
RETURNING t."id"`;

		// The attempt the claim counted never started: it is not counted.
		this.unclaim = `UPDATE ${t}
SET "status" = 'pending', "dateModified" = $3, "leaseOwner" = NULL, "leaseExpires" = NULL,
	"attempts" = "attempts" - 1
WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'`;

		const values = TASK_COLUMNS.map((c, i) =>
			c === "payload" || c === "result" || c === "error" ? `$${i + 1}::text::jsonb` : `$${i + 1}`
		).join(", ");
		this.insert = `WITH i AS (
	INSERT INTO ${t} (${this.columns}) VALUES (${values}) RETURNING "type"
)
SELECT pg_notify($${TASK_COLUMNS.length + 1}, $${TASK_COLUMNS.length + 2}::text || ':' || i."type") FROM i`;

		// DO NOTHING first: a duplicate create writes nothing and locks nothing (an upsert's no-op
		// update locks the active task's row, which the heartbeat and claims then skip, and leaves a
		// dead row version per duplicate). The unique index decides atomically whether the row goes
		// in; when it does not, the active task is read in the same statement, from its snapshot.
		// Only a conflict with a task committed after that snapshot returns no row; then
		// insertDedupUpsert, which always returns one.
		const typeParam = `$${TASK_COLUMNS.indexOf("type") + 1}`;
		const keyParam = `$${TASK_COLUMNS.indexOf("dedupKey") + 1}`;
		this.insertDedup = `WITH i AS (
	INSERT INTO ${t} (${this.columns}) VALUES (${values})
	ON CONFLICT ("type", "dedupKey") WHERE ${DEDUP_ACTIVE} DO NOTHING
	RETURNING "id", "type"
)
SELECT i."id", true AS "inserted"
FROM i CROSS JOIN LATERAL (SELECT pg_notify($${TASK_COLUMNS.length + 1}, $${TASK_COLUMNS.length + 2}::text || ':' || i."type")) AS n
UNION ALL
SELECT a."id", false FROM ${t} AS a
WHERE a."type" = ${typeParam}::text AND a."dedupKey" = ${keyParam}::text AND a."dateNextProcess" IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM i)`;

		// ON CONFLICT DO UPDATE guarantees an insert or an update of the conflicting row, whatever
		// its visibility to the snapshot; the update changes nothing (not the lease owner, status or
		// dateModified that fence a settle).
		this.insertDedupUpsert = `WITH i AS (
	INSERT INTO ${t} (${this.columns}) VALUES (${values})
	ON CONFLICT ("type", "dedupKey") WHERE ${DEDUP_ACTIVE} DO UPDATE SET "dedupKey" = EXCLUDED."dedupKey"
	RETURNING "id", "type"
)
SELECT i."id", i."id" = $1::text AS "inserted",
	CASE WHEN i."id" = $1::text THEN pg_notify($${TASK_COLUMNS.length + 1}, $${TASK_COLUMNS.length + 2}::text || ':' || i."type") END AS "notified"
FROM i`;

		const record = TASK_COLUMNS.map(c => `${quoteIdentifier(c)} ${COLUMN_TYPES[c]}`).join(", ");
		this.insertMany = `WITH i AS (
	INSERT INTO ${t} (${this.columns})
	SELECT ${this.columns} FROM jsonb_to_recordset($1::text::jsonb) AS x(${record})
	RETURNING "type"
)
SELECT pg_notify($2, $3::text || ':' || d."type") FROM (SELECT DISTINCT "type" FROM i) AS d`;

		this.counts = `SELECT "type", "status", count(*) AS "count" FROM ${t} GROUP BY "type", "status"`;
		this.countsOfType = `SELECT "type", "status", count(*) AS "count" FROM ${t} WHERE "type" = $1 GROUP BY "type", "status"`;

		// One statement on the database's clock, read once (the CTE is materialized): the window is
		// [floor(now / per) * per, + per); the upsert takes a start while the window's count is below
		// max. Concurrent takers of one window serialize on its row, and each re-checks the count of
		// the latest committed version (ON CONFLICT DO UPDATE), so no more than max are granted.
		const r = this.rateTable;
		this.takeStart = `WITH c AS MATERIALIZED (
	SELECT n.ms, n.ms - (n.ms % $3::bigint) AS "windowStart"
	FROM (SELECT ${DB_NOW_MS} AS ms) AS n
), u AS (
	INSERT INTO ${r} AS r ("type", "windowStart", "count")
	SELECT $1::text, c."windowStart", 1 FROM c
	ON CONFLICT ("type", "windowStart") DO UPDATE SET "count" = r."count" + 1
	WHERE r."count" < $2::integer
	RETURNING r."count"
)
SELECT (SELECT u."count" FROM u) AS "granted", c."windowStart" + $3::bigint - c.ms AS "waitMs" FROM c`;

		this.get = `SELECT ${this.columns} FROM ${t} WHERE "id" = $1`;

		// rules.retriedNow: pending or failed becomes pending, due no later than now, no
		// dateCompleted or retainUntil; a final task's retainFor (removed when retainUntil was set) is
		// given back: -1 stays -1, else retainUntil - dateModified.
		this.retry = `WITH r AS (
	UPDATE ${t} AS t
	SET "status" = 'pending', "dateModified" = $2,
		"dateNextProcess" = LEAST(t."dateNextProcess", $2),
		"dateCompleted" = NULL,
		"retainFor" = CASE
			WHEN t."retainFor" IS NULL AND t."retainUntil" IS NOT NULL THEN
				CASE WHEN t."retainUntil" = -1 THEN -1
				ELSE t."retainUntil" - (EXTRACT(EPOCH FROM t."dateModified"::timestamptz) * 1000)::bigint END
			ELSE t."retainFor" END,
		"retainUntil" = NULL
	WHERE t."id" = $1 AND t."status" IN ('pending', 'failed')
	RETURNING ${returning}
)
SELECT r.*, pg_notify($3, $4::text || ':' || r."type") FROM r`;

		// rules.cancelled: only while pending. retainFor 0 removes the task (rules.removeOnSettle:
		// exactly 0; none keeps it, without a retain date); -1 keeps it forever, n > 0 until now + n.
		// Two data-modifying parts of one statement on one snapshot: at most one of them matches.
		this.cancel = `WITH d AS (
	DELETE FROM ${t} AS t
	WHERE t."id" = $1 AND t."status" = 'pending' AND t."retainFor" = 0
	RETURNING ${returning}
), u AS (
	UPDATE ${t} AS t
	SET "status" = 'cancelled', "dateModified" = $2, "dateCancelled" = $2, "dateNextProcess" = NULL,
		"retainUntil" = CASE WHEN t."retainFor" = -1 THEN -1
			WHEN t."retainFor" > 0 THEN $3::bigint + t."retainFor"::bigint
			ELSE t."retainUntil" END
	WHERE t."id" = $1 AND t."status" = 'pending' AND t."retainFor" IS DISTINCT FROM 0
	RETURNING ${returning}
)
SELECT true AS "removed", d.* FROM d UNION ALL SELECT false, u.* FROM u`;

		this.remove = `DELETE FROM ${t} WHERE "id" = $1`;

		// A type's windows follow one another, so one with a later window is over; the latest one of
		// each type stays (a row per rate-limited type).
		this.sweep = `WITH w AS (
	DELETE FROM ${r} AS o
	WHERE EXISTS (SELECT 1 FROM ${r} AS l WHERE l."type" = o."type" AND l."windowStart" > o."windowStart")
)
DELETE FROM ${t}
WHERE "retainUntil" > 0 AND "retainUntil" < $1 AND "status" IN ('success', 'failed', 'cancelled')`;

		// The arrays go through sub-selects so that no plan sees their length: a custom plan that
		// did (the first five executions, and again after each ANALYZE) estimated the fenced rows
		// at one and scanned the whole table instead of looking each id up, 50 ms a batch.
		this.settleRemovals = `WITH s AS (SELECT * FROM unnest((SELECT $1::text[]), (SELECT $2::text[])) AS x("id", "claimedAt")),
d AS (
	DELETE FROM ${t} AS t USING s
	WHERE t."id" = s."id" AND t."leaseOwner" = $3 AND t."status" = 'processing' AND t."dateModified" = s."claimedAt"
	RETURNING t."id"
)
SELECT s."id" FROM s WHERE NOT EXISTS (SELECT 1 FROM d WHERE d."id" = s."id")`;

		this.dueSample = `SELECT DISTINCT ON ("type") "type", "id" FROM (
	SELECT "type", "id", "dateNextProcess" FROM ${t}
	WHERE "status" = 'pending' AND "threadId" = $1 AND "dateNextProcess" <= $2
	ORDER BY "dateNextProcess", "id"
	LIMIT 100
) AS d
ORDER BY "type", "dateNextProcess", "id"`;
	}

	/**
	 * Write settled tasks and remove finished ones, fenced, in one statement. The batch is one JSON
	 * parameter $1 (an array of { id, owner, claimedAt, remove, ...settle columns }).
	 * @param updates Whether the batch has tasks to write.
	 * @param removals Whether the batch has tasks to remove.
	 * @returns The statement; it returns the id of each task the fence kept out (usually none).
	 */
	public settle(updates: boolean, removals: boolean): string {
		const t = this.table;
		const record = [
			`"id" text`,
			`"owner" text`,
			`"claimedAt" text`,
			`"remove" boolean`,
			...SETTLE_COLUMNS.map(([c, type]) => `${quoteIdentifier(c)} ${type}`)
		].join(", ");
		const fence = `t."id" = s."id" AND t."leaseOwner" = s."owner" AND t."status" = 'processing' AND t."dateModified" = s."claimedAt"`;
		const parts = [`s AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(${record}))`];
		const results: string[] = [];
		if (updates) {
			const set = SETTLE_COLUMNS.map(([c]) => `${quoteIdentifier(c)} = s.${quoteIdentifier(c)}`);
			parts.push(`u AS (
	UPDATE ${t} AS t SET ${set.join(", ")}, "leaseOwner" = NULL, "leaseExpires" = NULL
	FROM s WHERE NOT s."remove" AND ${fence}
	RETURNING t."id"
)`);
			results.push(`SELECT "id" FROM u`);
		}
		if (removals) {
			parts.push(`d AS (
	DELETE FROM ${t} AS t USING s WHERE s."remove" AND ${fence}
	RETURNING t."id"
)`);
			results.push(`SELECT "id" FROM d`);
		}
		return `WITH ${parts.join(", ")}
SELECT s."id" FROM s WHERE NOT EXISTS (
	SELECT 1 FROM (${results.join(" UNION ALL ")}) AS w WHERE w."id" = s."id"
)`;
	}

	/**
	 * A page of tasks, filtered by type ($1) and/or status (next parameter), sorted by the column
	 * then id, LIMIT and OFFSET as the last two parameters.
	 * @param byType Filter by type.
	 * @param byStatus Filter by status.
	 * @param sortColumn The sort column, one of the entity's columns.
	 * @param direction The direction.
	 * @returns The statement.
	 */
	public query(
		byType: boolean,
		byStatus: boolean,
		sortColumn: (typeof TASK_COLUMNS)[number],
		direction: SortDirection
	): string {
		const where: string[] = [];
		let n = 0;
		if (byType) {
			where.push(`"type" = $${++n}`);
		}
		if (byStatus) {
			where.push(`"status" = $${++n}`);
		}
		const dir = direction === SortDirection.Descending ? "DESC" : "ASC";
		return `SELECT ${this.columns} FROM ${this.table}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
ORDER BY ${quoteIdentifier(sortColumn)} ${dir}, "id" ASC
LIMIT $${n + 1} OFFSET $${n + 2}`;
	}

	/**
	 * The indexes the backend creates on its table: name suffix, key columns and, for the dedup
	 * index, UNIQUE and its partial condition.
	 *
	 * The claim index serves fetch and claim: type and thread, then the claim order (priority,
	 * highest first, NULL as 0; due date; creation; id), so the due rows of a type are read in
	 * claim order and the scan stops after LIMIT rows without a sort. The due date is its fourth
	 * key, so tasks not yet due are skipped inside the index (no heap read), after the due ones of
	 * their priority. The thread index serves the noHandler sample; the retain index the sweep.
	 * The dedup index (unique, only active tasks with a key) makes a create with a dedupKey one
	 * atomic statement across nodes (insertDedup); its condition names no column a claim changes
	 * (DEDUP_ACTIVE), so claims stay HOT updates when the page has room (docs/scale-out.md). Every
	 * index is updated by every settle (the due date changes), so there are no more than these:
	 * without
	 * docs/background-task.postgresql.sql's type and status indexes, measured on one node, 18,893
	 * tasks/s against 15,456 (median of 3, docs/performance.md). query() by status alone scans the
	 * table; a table made from that file, or the index added by hand, keeps its indexes.
	 */
	public static readonly INDEXES: [
		suffix: string,
		columns: string,
		unique?: string,
		where?: string
	][] = [
		["_thread_due", `"threadId", "dateNextProcess", "id"`],
		// Only the rows the sweep can remove (retainUntil > 0, the sweep's own condition): an
		// active task (retainUntil NULL) or one kept forever (-1) costs the index no entry, so
		// inserts and non-HOT updates write one index fewer.
		["_retain_kept", `"retainUntil"`, undefined, `"retainUntil" > 0`],
		[
			"_claim_priority",
			`"type", "threadId", (COALESCE("priority", 0)) DESC, "dateNextProcess", "dateCreated", "id"`
		],
		[DEDUP_INDEX, `"type", "dedupKey"`, DEDUP_ACTIVE]
	];

	/**
	 * The suffixes of indexes of earlier versions, dropped when the table is made ready, each with
	 * what replaced it: the claim index (type, thread, due date, creation, id), replaced by the
	 * claim order by priority; the retain index of every row, replaced by the partial one.
	 */
	public static readonly LEGACY_INDEXES: [suffix: string, replacedBy: string][] = [
		["_claim", "the claim index by priority"],
		["_retain", "the retain index of retained tasks only"]
	];

	/**
	 * The fill factor of a table the backend creates: room on each page for the new version of a
	 * row a claim or settle updates, so the update is HOT (no index entries written). Measured on a
	 * 30,000-task backlog on one node: 98 % of claims HOT against 60 % at the default 100, 21,900
	 * against 24,500 tasks/s (docs/performance.md).
	 */
	public static readonly FILL_FACTOR = 70;

	/**
	 * The name of the table of rate-limit windows beside a task table.
	 * @param tableName The checked table name.
	 * @returns The name.
	 */
	public static rateTableName(tableName: string): string {
		return derivedName(tableName, "_rate");
	}

	/**
	 * The name of the table beside a task table that names, per serial type, the task its last
	 * serial claim took: the claim's running-task check reads that task by its key instead of
	 * scanning the type's rows.
	 * @param tableName The checked table name.
	 * @returns The name.
	 */
	public static serialTableName(tableName: string): string {
		return derivedName(tableName, "_serial");
	}

	/**
	 * The names of the backend's indexes on a table.
	 * @param tableName The checked table name.
	 * @returns The index names.
	 */
	public static indexNames(tableName: string): string[] {
		return PostgresStatements.INDEXES.map(([suffix]) => derivedName(tableName, suffix));
	}

	/**
	 * The columns the backend adds to an existing table when missing (all nullable): its lease
	 * columns and the queue options' columns, with their SQL types.
	 */
	public static readonly ADDED_COLUMNS: [column: string, type: string][] = [
		["leaseOwner", "TEXT"],
		["leaseExpires", "BIGINT"],
		["priority", "INTEGER"],
		["dedupKey", "TEXT"],
		["retryBackoff", "TEXT"],
		["retryMaxInterval", "DOUBLE PRECISION"],
		["attempts", "INTEGER"]
	];

	/**
	 * The DDL that creates the table, its added columns, indexes and rate table when missing, and
	 * drops the claim index of earlier versions; each statement is idempotent.
	 * @param tableName The checked table name.
	 * @returns The statements.
	 */
	public static createTable(tableName: string): string[] {
		const t = quoteIdentifier(tableName);
		const added = PostgresStatements.ADDED_COLUMNS;
		return [
			`CREATE TABLE IF NOT EXISTS ${t} (
	"id" TEXT NOT NULL PRIMARY KEY,
	"type" TEXT NOT NULL,
	"threadId" TEXT NOT NULL,
	"retryInterval" DOUBLE PRECISION NULL,
	"retriesRemaining" DOUBLE PRECISION NULL,
	"dateCreated" TEXT NOT NULL,
	"dateModified" TEXT NOT NULL,
	"dateNextProcess" TEXT NULL,
	"dateCancelled" TEXT NULL,
	"dateCompleted" TEXT NULL,
	"retainFor" DOUBLE PRECISION NULL,
	"retainUntil" BIGINT NULL,
	"status" TEXT NOT NULL,
	"payload" JSONB NULL,
	"result" JSONB NULL,
	"error" JSONB NULL,
${added.map(([c, type]) => `\t${quoteIdentifier(c)} ${type} NULL`).join(",\n")}
) WITH (fillfactor = ${PostgresStatements.FILL_FACTOR})`,
			`ALTER TABLE ${t} ${added.map(([c, type]) => `ADD COLUMN IF NOT EXISTS ${quoteIdentifier(c)} ${type} NULL`).join(", ")}`,
			...PostgresStatements.LEGACY_INDEXES.map(
				([suffix]) => `DROP INDEX IF EXISTS ${quoteIdentifier(derivedName(tableName, suffix))}`
			),
			...PostgresStatements.INDEXES.map(([suffix, columns, unique, where]) => {
				const condition = unique ?? where;
				return `CREATE ${unique === undefined ? "" : "UNIQUE "}INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(tableName, suffix))} ON ${t} (${columns})${condition === undefined ? "" : ` WHERE ${condition}`}`;
			}),
			`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(PostgresStatements.rateTableName(tableName))} (
	"type" TEXT NOT NULL,
	"windowStart" BIGINT NOT NULL,
	"count" INTEGER NOT NULL,
	PRIMARY KEY ("type", "windowStart")
)`,
			`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(PostgresStatements.serialTableName(tableName))} (
	"type" TEXT NOT NULL PRIMARY KEY,
	"taskId" TEXT NOT NULL
)`
		];
	}
}
