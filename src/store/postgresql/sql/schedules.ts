// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The statements of recurring tasks' schedules (schedule()), stored beside the task table so every
// node sees the same schedules and each slot fires once across nodes.
import { quoteIdentifier } from "../postgresNames.js";
import { COLUMN_TYPES, TASK_COLUMNS } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * The CREATE TABLE of the schedules: one row per name, its timing as JSON ("spec": every, or cron
 * and timezone), and where its slots stand on the database's clock.
 * @param tableRef The table as the statement names it.
 * @returns The statement.
 */
export function createSchedulesTableSql(tableRef: string): string {
	return `CREATE TABLE IF NOT EXISTS ${tableRef} (
	"name" TEXT NOT NULL PRIMARY KEY,
	"type" TEXT NOT NULL,
	"payload" JSONB NULL,
	"spec" JSONB NOT NULL,
	"options" JSONB NULL,
	"catchUp" TEXT NOT NULL,
	"nextSlot" TIMESTAMPTZ NULL,
	"lastSlot" TIMESTAMPTZ NULL,
	"updated" TIMESTAMPTZ NOT NULL
)`;
}

/**
 * The payload of a schedule-change notice, "<sender>/schedule:<name>".
 * @param sender The SQL expression of the sender's instance id.
 * @param name The SQL expression of the name.
 * @returns The expression.
 */
function scheduleNotice(sender: string, name: string): string {
	return `${sender}::text || '/schedule:' || ${name}`;
}

/**
 * Insert or update schedule $1 ($2 type, $3 payload, $4 spec, $5 options as JSON text, $6 catchUp,
 * $7 first slot) and notify ($8 channel, $9 sender). An update with the same spec keeps the stored
 * slots, so every node may declare the same schedule at its start without moving them.
 * @param n The names.
 * @returns The statement; it returns the row as stored.
 */
export function saveScheduleSql(n: ISqlNames): string {
	return `WITH s AS (
	INSERT INTO ${n.schedulesTable} AS s
		("name", "type", "payload", "spec", "options", "catchUp", "nextSlot", "updated")
	VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb, $6, $7::timestamptz, now())
	ON CONFLICT ("name") DO UPDATE SET
		"type" = EXCLUDED."type", "payload" = EXCLUDED."payload", "options" = EXCLUDED."options",
		"catchUp" = EXCLUDED."catchUp",
		"nextSlot" = CASE WHEN s."spec" = EXCLUDED."spec" THEN s."nextSlot" ELSE EXCLUDED."nextSlot" END,
		"lastSlot" = CASE WHEN s."spec" = EXCLUDED."spec" THEN s."lastSlot" ELSE NULL END,
		"spec" = EXCLUDED."spec", "updated" = now()
	RETURNING s.*
), w AS (
	SELECT pg_notify($8, ${scheduleNotice("$9", `s."name"`)}) FROM s
)
SELECT s.*, (SELECT count(*) FROM w) AS "notified" FROM s`;
}

/**
 * Remove schedule $1 and notify ($2 channel, $3 sender).
 * @param n The names.
 * @returns The statement; one row when it existed.
 */
export function removeScheduleSql(n: ISqlNames): string {
	return `WITH d AS (
	DELETE FROM ${n.schedulesTable} WHERE "name" = $1 RETURNING "name"
)
SELECT d."name", pg_notify($2, ${scheduleNotice("$3", `d."name"`)}) FROM d`;
}

/**
 * Every schedule, by name, each with the database's time ("dbNow"); one row of NULLs and the time
 * when there is none.
 * @param n The names.
 * @returns The statement.
 */
export function listSchedulesSql(n: ISqlNames): string {
	return `SELECT s.*, c."dbNow" FROM (SELECT now() AS "dbNow") AS c
LEFT JOIN ${n.schedulesTable} AS s ON true ORDER BY s."name"`;
}

/**
 * Fire schedule $1's due slots in one statement: move its next slot from $2 to $3 (and its last
 * slot to $4) only while the stored next slot is still $2 and due on the DATABASE's clock, and
 * insert the slots' tasks ($5, a JSON array of records as insertMany's) only when that move
 * matched, notifying their type ($6 channel, $7 sender). Two nodes firing the same slot at once:
 * the second's UPDATE waits for the first's row lock, then finds the next slot moved and matches
 * nothing, so it inserts nothing; whatever the nodes' clocks say, no slot fires before its time.
 * The tasks' ids are derived from the schedule and slot, a second guard (ON CONFLICT).
 * @param n The names.
 * @returns The statement; "fired" is 1 when this call moved the slot.
 */
export function fireScheduleSql(n: ISqlNames): string {
	const record = TASK_COLUMNS.map(c => `${quoteIdentifier(c)} ${COLUMN_TYPES[c]}`).join(", ");
	return `WITH s AS (
	UPDATE ${n.schedulesTable}
	SET "nextSlot" = $3::timestamptz, "lastSlot" = $4::timestamptz, "updated" = now()
	WHERE "name" = $1 AND "nextSlot" = $2::timestamptz AND "nextSlot" <= now()
	RETURNING "name"
), i AS (
	INSERT INTO ${n.table} (${n.columns})
	SELECT ${n.columns} FROM jsonb_to_recordset($5::text::jsonb) AS x(${record})
	WHERE EXISTS (SELECT 1 FROM s)
	ON CONFLICT ("id") DO NOTHING
	RETURNING "type"
)
SELECT (SELECT count(*) FROM s)::int AS "fired",
	(SELECT count(*) FROM (SELECT pg_notify($6, $7::text || ':' || d."type")
		FROM (SELECT DISTINCT "type" FROM i) AS d) AS w)::int AS "notified"`;
}
