// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { SortDirection } from "@twin.org/entity";
import {
	channelName,
	derivedName,
	pausedTableName,
	quoteIdentifier,
	rateTableName,
	schedulesTableName,
	serialTableName
} from "./postgresNames.js";
import { PostgresSchemaFacts } from "./postgresSchemaFacts.js";
import { cancelSql } from "./sql/cancel.js";
import { claimSql } from "./sql/claim.js";
import { claimSerialSql } from "./sql/claimSerial.js";
import { TASK_COLUMNS, type TaskColumn } from "./sql/columns.js";
import { countsOfTypeSql, countsSql } from "./sql/counts.js";
import { dueSampleSql } from "./sql/dueSample.js";
import { fetchSql } from "./sql/fetch.js";
import { fetchSerialSql } from "./sql/fetchSerial.js";
import { getSql } from "./sql/get.js";
import { heartbeatSql } from "./sql/heartbeat.js";
import { DEDUP_INDEX } from "./sql/indexes.js";
import { insertSql } from "./sql/insert.js";
import { insertDedupSql, insertDedupUpsertSql } from "./sql/insertDedup.js";
import { insertManySql } from "./sql/insertMany.js";
import type { ISqlNames } from "./sql/ISqlNames.js";
import { notifySql } from "./sql/notify.js";
import { pausedTypesSql } from "./sql/pausedTypes.js";
import { pauseTypeSql } from "./sql/pauseType.js";
import { pendingOfSql } from "./sql/pendingOf.js";
import { progressSql } from "./sql/progress.js";
import { abortReasonSql, requestAbortSql } from "./sql/requestAbort.js";
import { querySql } from "./sql/query.js";
import { reconfirmSql } from "./sql/reconfirm.js";
import { removeSql } from "./sql/remove.js";
import { resumeTypeSql } from "./sql/resumeType.js";
import { retrySql } from "./sql/retry.js";
import { retryFailedSql } from "./sql/retryFailed.js";
import {
	fireScheduleSql,
	listSchedulesSql,
	removeScheduleSql,
	saveScheduleSql
} from "./sql/schedules.js";
import { serialLockSql } from "./sql/serialLock.js";
import { settleSql } from "./sql/settle.js";
import { settleRemovalsSql } from "./sql/settleRemovals.js";
import { sweepSql } from "./sql/sweep.js";
import { takeStartSql } from "./sql/takeStart.js";
import { typeOfSql } from "./sql/typeOf.js";
import { unclaimSql } from "./sql/unclaim.js";
import { deadRowsSql, vacuumSql } from "./sql/vacuum.js";

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
export class PostgresStatements extends PostgresSchemaFacts {
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
	 * The quoted name of the table of paused types (pausedTableName).
	 */
	public readonly pausedTable: string;

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
	 * Pause or resume type $1, notifying every instance when that changed something ($2 = channel,
	 * $3 = the sender's instance id; the payload is "<sender>/pause:<type>" or "/resume:"), and
	 * list the paused types, sorted.
	 */
	public readonly pauses: { pause: string; resume: string; list: string };

	/**
	 * The schedules of recurring tasks: save, remove and list them, and fire a slot
	 * (sql/schedules.ts).
	 */
	public readonly schedules: { save: string; remove: string; list: string; fire: string };

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
	 * Put failed tasks, of all types or of type $5, back to pending (sql/retryFailed.ts).
	 */
	public readonly retryFailed: { all: string; ofType: string };

	/**
	 * Cancel task $1 while pending ($2 = now ISO, $3 = now ms).
	 */
	public readonly cancel: string;

	/**
	 * Remove task $1.
	 */
	public readonly remove: string;

	/**
	 * Write the progress $2 (JSON text) of running task $1, fenced by owner $3 and claim $4.
	 */
	public readonly progress: string;

	/**
	 * Ask the owner of processing task $1 to stop it, reason $2, with a notice ($3 = channel,
	 * $4 = the sender's instance id).
	 */
	public readonly requestAbort: string;

	/**
	 * The abort reason of task $1 held processing by owner $2.
	 */
	public readonly abortReason: string;

	/**
	 * The common settle batch, every task removed (retainFor 0) and claimed by one owner, as two
	 * text arrays of the same length (ids $1, their claims' dateModified $2) and the owner $3:
	 * fewer parameters than settle()'s. Returns the id of each task the fence kept out (usually
	 * none), as settle() does.
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
	 * Vacuum the table, unless another vacuum of it is running (TableUpkeep).
	 */
	public readonly vacuum: string;

	/**
	 * The dead rows of the table $1 (its quoted name) and whether this session may vacuum it: one
	 * row, "dead" and "allowed".
	 */
	public readonly deadRows: string;

	/**
	 * The names the statements splice into their text.
	 */
	private readonly _names: ISqlNames;

	/**
	 * Create statements for a table.
	 * @param tableName The checked table name.
	 */
	constructor(tableName: string) {
		super();
		this.table = quoteIdentifier(tableName);
		this.channel = channelName(tableName);
		this.rateTable = quoteIdentifier(rateTableName(tableName));
		this.serialTable = quoteIdentifier(serialTableName(tableName));
		this.pausedTable = quoteIdentifier(pausedTableName(tableName));
		this.dedupIndex = derivedName(tableName, DEDUP_INDEX);
		this.columns = TASK_COLUMNS.map(c => quoteIdentifier(c)).join(", ");
		const n: ISqlNames = {
			table: this.table,
			columns: this.columns,
			returning: TASK_COLUMNS.map(c => `t.${quoteIdentifier(c)}`).join(", "),
			rateTable: this.rateTable,
			serialTable: this.serialTable,
			pausedTable: this.pausedTable,
			schedulesTable: quoteIdentifier(schedulesTableName(tableName))
		};
		this._names = n;
		this.fetch = fetchSql(n);
		this.claim = claimSql(n);
		this.serialLock = serialLockSql();
		this.fetchSerial = fetchSerialSql(n);
		this.claimSerial = claimSerialSql(n);
		this.typeOf = typeOfSql(n);
		this.notify = notifySql();
		this.pauses = { pause: pauseTypeSql(n), resume: resumeTypeSql(n), list: pausedTypesSql(n) };
		this.schedules = {
			save: saveScheduleSql(n),
			remove: removeScheduleSql(n),
			list: listSchedulesSql(n),
			fire: fireScheduleSql(n)
		};
		this.reconfirm = reconfirmSql(n);
		this.pendingOf = pendingOfSql(n);
		this.heartbeat = heartbeatSql(n);
		this.unclaim = unclaimSql(n);
		this.insert = insertSql(n);
		this.insertDedup = insertDedupSql(n);
		this.insertDedupUpsert = insertDedupUpsertSql(n);
		this.insertMany = insertManySql(n);
		this.counts = countsSql(n);
		this.countsOfType = countsOfTypeSql(n);
		this.takeStart = takeStartSql(n);
		this.get = getSql(n);
		this.retry = retrySql(n);
		this.retryFailed = { all: retryFailedSql(n, false), ofType: retryFailedSql(n, true) };
		this.cancel = cancelSql(n);
		this.remove = removeSql(n);
		this.sweep = sweepSql(n);
		this.settleRemovals = settleRemovalsSql(n);
		this.progress = progressSql(n);
		this.requestAbort = requestAbortSql(n);
		this.abortReason = abortReasonSql(n);
		this.dueSample = dueSampleSql(n);
		this.vacuum = vacuumSql(n);
		this.deadRows = deadRowsSql();
	}

	/**
	 * Write settled tasks and remove finished ones, fenced, in one statement. The batch is one
	 * array parameter per field (id, owner, claimedAt, remove, then the settle columns in order),
	 * or one value for a field the batch shares (settleShapes.settleParams).
	 * @param updates Whether the batch has tasks to write.
	 * @param removals Whether the batch has tasks to remove.
	 * @param shared The fields sent as one value (settleShapes.sharedFields).
	 * @returns The statement; it returns the id of each task the fence kept out (usually none).
	 */
	public settle(updates: boolean, removals: boolean, shared = 0): string {
		return settleSql(this._names, updates, removals, shared);
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
		sortColumn: TaskColumn,
		direction: SortDirection
	): string {
		return querySql(this._names, byType, byStatus, sortColumn, direction);
	}
}
