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
	["error", "jsonb"]
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
	 * Claim up to $3 due tasks of type $1 for thread $2 ($4 = now ISO, $5 = owner,
	 * $6 = lease ms), earliest due first.
	 */
	public readonly fetch: string;

	/**
	 * Claim task $1 of thread $2 ($3 = now ISO, $4 = owner, $5 = lease ms).
	 */
	public readonly claim: string;

	/**
	 * Claim the earliest due task of serial type $1 for thread $2 ($3 = now ISO, $4 = owner,
	 * $5 = lease ms), only while no task of the type is processing under a live lease; run after
	 * serialLock in one transaction.
	 */
	public readonly fetchSerial: string;

	/**
	 * Claim task $1, of a serial type, for thread $2 ($3 = now ISO, $4 = owner, $5 = lease ms),
	 * only while no task of its type is processing under a live lease and no other claimable task
	 * of it is due before it; run after serialLock in one transaction.
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
	 * Remove final tasks whose retainUntil is before $1 (ms).
	 */
	public readonly sweep: string;

	/**
	 * One due pending task of thread $1 per type ($2 = now ISO), among the 100 due first.
	 */
	public readonly dueSample: string;

	/**
	 * The fence and owner of tasks $1 (text[]): why a settle wrote nothing.
	 */
	public readonly describe: string;

	/**
	 * Create statements for a table.
	 * @param tableName The checked table name.
	 */
	constructor(tableName: string) {
		const t = quoteIdentifier(tableName);
		this.table = t;
		this.channel = channelName(tableName);
		this.columns = TASK_COLUMNS.map(c => quoteIdentifier(c)).join(", ");
		const returning = TASK_COLUMNS.map(c => `t.${quoteIdentifier(c)}`).join(", ");
		const lease = (param: string): string => `${DB_NOW_MS} + ${param}::bigint`;

		this.fetch = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $4, "leaseOwner" = $5, "leaseExpires" = ${lease("$6")}
FROM (
	SELECT "id" FROM ${t}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $4 AND ${CLAIMABLE}
	ORDER BY "dateNextProcess", "dateCreated", "id"
	LIMIT $3
	FOR UPDATE SKIP LOCKED
) AS c
WHERE t."id" = c."id"
RETURNING ${returning}`;

		this.claim = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${CLAIMABLE}
RETURNING ${returning}`;

		// A serial type: none of it is claimed while a task of the type is processing under a live
		// lease (a dead node's lease expires, so it cannot hold the type forever). The statement
		// runs in a transaction that first takes the type's advisory lock (serialLock), so claims
		// of the type are one at a time across all nodes and each one's snapshot, taken after the
		// lock, sees the claim before it.
		const serialGate = (type: string): string => `NOT EXISTS (
		SELECT 1 FROM ${t} AS r
		WHERE r."type" = ${type} AND r."status" = 'processing' AND r."leaseExpires" >= ${DB_NOW_MS}
	)`;
		this.serialLock = `SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))`;
		this.fetchSerial = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")}
FROM (
	SELECT "id" FROM ${t}
	WHERE "type" = $1 AND "threadId" = $2 AND "dateNextProcess" <= $3 AND ${CLAIMABLE}
		AND ${serialGate("$1::text")}
	ORDER BY "dateNextProcess", "dateCreated", "id"
	LIMIT 1
	FOR UPDATE
) AS c
WHERE t."id" = c."id"
RETURNING ${returning}`;

		this.claimSerial = `UPDATE ${t} AS t
SET "status" = 'processing', "dateModified" = $3, "leaseOwner" = $4, "leaseExpires" = ${lease("$5")}
WHERE t."id" = $1 AND t."threadId" = $2 AND t."dateNextProcess" <= $3 AND ${CLAIMABLE.replaceAll('"status"', 't."status"').replaceAll('"leaseExpires"', 't."leaseExpires"')}
	AND ${serialGate('t."type"')}
	AND NOT EXISTS (
		SELECT 1 FROM ${t} AS e
		WHERE e."type" = t."type" AND e."threadId" = $2 AND e."dateNextProcess" <= $3
			AND (e."status" = 'pending' OR (e."status" = 'processing' AND (e."leaseExpires" IS NULL OR e."leaseExpires" < ${DB_NOW_MS})))
			AND (e."dateNextProcess", e."dateCreated", e."id") < (t."dateNextProcess", t."dateCreated", t."id")
	)
RETURNING ${returning}`;

		this.typeOf = `SELECT "type" FROM ${t} WHERE "id" = $1`;

		this.notify = `SELECT pg_notify($1, $3::text || ':' || $2::text)`;

		this.reconfirm = `UPDATE ${t}
SET "leaseExpires" = ${lease("$4")}
WHERE "id" = $1 AND "leaseOwner" = $2 AND "status" = 'processing' AND "dateModified" = $3
RETURNING "id"`;

		this.pendingOf = `SELECT "id", "type", "threadId", "status", "dateNextProcess", "dateCreated", "dateModified"
FROM ${t} WHERE "id" = $1 AND "threadId" = $2 AND "status" = 'pending'`;

		// SKIP LOCKED: a row locked by this node's own settle in flight (which clears the lease
		// itself) is not waited for. Waiting made the heartbeat and a batched settle, on two
		// connections of one node, deadlock on rows locked in different orders.
		this.heartbeat = `UPDATE ${t} AS t
SET "leaseExpires" = ${lease("$3")}
FROM (
	SELECT "id" FROM ${t}
	WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'
	ORDER BY "id"
	FOR UPDATE SKIP LOCKED
) AS h
WHERE t."id" = h."id"
RETURNING t."id"`;

		this.unclaim = `UPDATE ${t}
SET "status" = 'pending', "dateModified" = $3, "leaseOwner" = NULL, "leaseExpires" = NULL
WHERE "id" = ANY($1::text[]) AND "leaseOwner" = $2 AND "status" = 'processing'`;

		const values = TASK_COLUMNS.map((c, i) =>
			c === "payload" || c === "result" || c === "error" ? `$${i + 1}::text::jsonb` : `$${i + 1}`
		).join(", ");
		this.insert = `WITH i AS (
	INSERT INTO ${t} (${this.columns}) VALUES (${values}) RETURNING "type"
)
SELECT pg_notify($${TASK_COLUMNS.length + 1}, $${TASK_COLUMNS.length + 2}::text || ':' || i."type") FROM i`;

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

		this.sweep = `DELETE FROM ${t}
WHERE "retainUntil" > 0 AND "retainUntil" < $1 AND "status" IN ('success', 'failed', 'cancelled')`;

		this.dueSample = `SELECT DISTINCT ON ("type") "type", "id" FROM (
	SELECT "type", "id", "dateNextProcess" FROM ${t}
	WHERE "status" = 'pending' AND "threadId" = $1 AND "dateNextProcess" <= $2
	ORDER BY "dateNextProcess", "id"
	LIMIT 100
) AS d
ORDER BY "type", "dateNextProcess", "id"`;

		this.describe = `SELECT "id", "status", "leaseOwner", "dateModified" FROM ${t} WHERE "id" = ANY($1::text[])`;
	}

	/**
	 * Write settled tasks and remove finished ones, fenced, in one statement. The batch is one JSON
	 * parameter $1 (an array of { id, owner, claimedAt, remove, ...settle columns }).
	 * @param updates Whether the batch has tasks to write.
	 * @param removals Whether the batch has tasks to remove.
	 * @returns The statement; it returns the id of each task written or removed.
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
		return `WITH ${parts.join(", ")}\n${results.join(" UNION ALL ")}`;
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
	 * The indexes the backend creates on a table it creates: name suffix and columns. The claim
	 * index serves fetch and claim (type, thread and due date, in due order, creation and id, so
	 * the due rows are read in order and the scan stops after LIMIT rows without a sort); the
	 * thread index serves the noHandler sample; the retain index the sweep. Every index is updated
	 * by every claim and settle (status changes), so there are no more than these: without
	 * docs/background-task.postgresql.sql's type and status indexes, measured on one node, 18,893
	 * tasks/s against 15,456 (median of 3, docs/performance.md). query() by status alone scans the
	 * table; a table made from that file, or the index added by hand, keeps its indexes.
	 */
	public static readonly INDEXES: [suffix: string, columns: string][] = [
		["_thread_due", `"threadId", "dateNextProcess", "id"`],
		["_retain", `"retainUntil"`],
		["_claim", `"type", "threadId", "dateNextProcess", "dateCreated", "id"`]
	];

	/**
	 * The names of the backend's indexes on a table.
	 * @param tableName The checked table name.
	 * @returns The index names.
	 */
	public static indexNames(tableName: string): string[] {
		return PostgresStatements.INDEXES.map(([suffix]) => derivedName(tableName, suffix));
	}

	/**
	 * The DDL that creates the table, its lease columns and indexes when missing; each statement
	 * is idempotent.
	 * @param tableName The checked table name.
	 * @returns The statements.
	 */
	public static createTable(tableName: string): string[] {
		const t = quoteIdentifier(tableName);
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
	"leaseOwner" TEXT NULL,
	"leaseExpires" BIGINT NULL
)`,
			`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS "leaseOwner" TEXT NULL, ADD COLUMN IF NOT EXISTS "leaseExpires" BIGINT NULL`,
			...PostgresStatements.INDEXES.map(
				([suffix, columns]) =>
					`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(derivedName(tableName, suffix))} ON ${t} (${columns})`
			)
		];
	}
}
