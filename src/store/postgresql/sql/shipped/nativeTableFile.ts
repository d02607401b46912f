// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { quoteIdentifier } from "../../postgresNames.js";
import { COLUMNS } from "../columns.js";
import {
	createPausedTableSql,
	createRateTableSql,
	createSerialTableSql,
	createTaskTableSql
} from "../createTable.js";
import { DEDUP_INDEX, FILL_FACTOR, TABLE_INDEXES } from "../indexes.js";
import { createSchedulesTableSql } from "../schedules.js";
import {
	indexStatements,
	SHIPPED_TABLE,
	shippedIndexSql,
	TWIN_STATUS_INDEX
} from "./shippedText.js";

/**
 * The text of docs/background-task.postgresql-native.sql: the table, indexes and side tables the
 * native backend creates at start() (createTable without its upgrade statements), with comments.
 * @returns The file's text.
 */
export function nativeTableFile(): string {
	const q = quoteIdentifier;
	return `-- The background task table for the native PostgreSQL backend (config.postgresql), as the backend
-- creates it at start() when it is missing. The columns are those of the BackgroundTask entity, as
-- in background-task.postgresql.sql, so the rows stay readable through TWIN's PostgreSQL
-- entity-storage connector and a node can move between the two paths. The five queue columns
-- ("priority" to "attempts") are the entity's optional properties, NULL for a task created without
-- the option, and so are "progress", NULL until a handler reports progress, and "traceContext",
-- NULL unless an OpenTelemetry span was active at create. Two nullable columns are the backend's
-- own:
--   "leaseOwner"   the id of the node session that claimed a processing task;
--   "leaseExpires" when that claim ends, epoch milliseconds on the database's clock (renewed by the
--                  owner's heartbeat; an expired claim is taken over by any node).
-- The backend always quotes the table name, so it is case-sensitive; replace background_task
-- throughout to use another name (index names are the table name with a suffix).
${createTaskTableSql(q(SHIPPED_TABLE), COLUMNS)} WITH (fillfactor = ${FILL_FACTOR});
${indexStatements(TABLE_INDEXES, q, {
	_thread_active: `-- fillfactor ${FILL_FACTOR}: room on each page for a new version of every row on it, so a claim is a HOT
-- update (no index entries written) even when it takes all of a page's rows; docs/performance.md.
-- A due-task sample by thread (noHandler report), active tasks only; and the sweep of retained
-- tasks: only rows the sweep can remove (retainUntil > 0) are in that index, so an active task
-- costs it no entry.`,
	_claim_due: `-- The native backend's claim: due tasks of one type and thread in claim order (highest priority
-- first, NULL as 0; then due date, creation, id), read in index order up to the batch size
-- without a sort. Only active tasks (those with a due date) are in it: a final task costs it no
-- entry.`,
	[DEDUP_INDEX]: `-- Deduplication: at most one active (pending or processing) task per type and dedupKey, so a
-- create with a dedupKey is one atomic statement across nodes (INSERT ... ON CONFLICT). A task has
-- a "dateNextProcess" exactly while it is pending or processing; the condition names that column
-- rather than "status" so that claims, which change the status, can stay HOT updates.`
})}
-- Rate limits (registerHandler's rateLimit) across nodes: starts taken per type in the current
-- fixed window (its start, epoch ms on the database's clock); the sweep removes windows that are
-- over.
${createRateTableSql(q(`${SHIPPED_TABLE}_rate`))};
-- Serial types (registerHandler's serial) across nodes: the task each type's last serial claim
-- took, so the next claim checks that one task rather than scanning the type's rows.
${createSerialTableSql(q(`${SHIPPED_TABLE}_serial`))};
-- Paused types (pause()) across nodes: every node's claims skip the tasks of a type listed here.
${createPausedTableSql(q(`${SHIPPED_TABLE}_paused`))};
-- Recurring tasks (schedule()) across nodes: each slot's task is inserted by the one statement that
-- moves the schedule's "nextSlot" on, so it fires once whichever nodes are up.
${createSchedulesTableSql(q(`${SHIPPED_TABLE}_schedules`))};
-- Every settle updates every index (and so does a claim that cannot be a HOT update), so no other
-- index is created: the type and status indexes of background-task.postgresql.sql cost about a
-- fifth of the throughput (see docs/performance.md). A node that also queries by status a lot may add this one:
-- ${shippedIndexSql(TWIN_STATUS_INDEX, q)};`;
}
