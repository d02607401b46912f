// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The DDL of the task table and the small tables beside it, from COLUMNS and TABLE_INDEXES;
// createTable() for start(), the other functions also for the shipped SQL files.
import {
	derivedName,
	pausedTableName,
	quoteIdentifier,
	rateTableName,
	schedulesTableName,
	serialTableName
} from "../postgresNames.js";
import { createSchedulesTableSql } from "./schedules.js";
import { COLUMNS, LATER_COLUMNS } from "./columns.js";
import type { IColumn } from "./IColumn.js";
import { createIndexSql, FILL_FACTOR, LEGACY_INDEXES, TABLE_INDEXES } from "./indexes.js";

/**
 * A column as a table definition or ADD COLUMN names it, e.g.
 * `"id" TEXT COLLATE "C" NOT NULL PRIMARY KEY`.
 * @param column The column.
 * @returns The definition.
 */
export function columnDefinition(column: IColumn): string {
	return `${quoteIdentifier(column.name)} ${column.sqlType}${column.collate === undefined ? "" : ` COLLATE "${column.collate}"`} ${column.nullable ? "NULL" : "NOT NULL"}${column.primaryKey === true ? " PRIMARY KEY" : ""}`;
}

/**
 * The CREATE TABLE of the task table.
 * @param tableRef The table as the statement names it (quoted or not).
 * @param columns The columns, in order.
 * @param notes Comment lines to write before a column, by column name (for the shipped files).
 * @returns The statement, without a closing semicolon.
 */
export function createTaskTableSql(
	tableRef: string,
	columns: readonly IColumn[],
	notes: { [column: string]: string } = {}
): string {
	const lines = columns.map(
		c => `${notes[c.name] === undefined ? "" : `${notes[c.name]}\n`}\t${columnDefinition(c)}`
	);
	return `CREATE TABLE IF NOT EXISTS ${tableRef} (
${lines.join(",\n")}
)`;
}

/**
 * The CREATE TABLE of the rate-limit windows: starts taken per type in a fixed window (takeStart).
 * @param tableRef The table as the statement names it.
 * @returns The statement.
 */
export function createRateTableSql(tableRef: string): string {
	return `CREATE TABLE IF NOT EXISTS ${tableRef} (
	"type" TEXT NOT NULL,
	"windowStart" BIGINT NOT NULL,
	"count" INTEGER NOT NULL,
	PRIMARY KEY ("type", "windowStart")
)`;
}

/**
 * The CREATE TABLE of the serial types' holders: the task each type's last serial claim took.
 * @param tableRef The table as the statement names it.
 * @returns The statement.
 */
export function createSerialTableSql(tableRef: string): string {
	return `CREATE TABLE IF NOT EXISTS ${tableRef} (
	"type" TEXT NOT NULL PRIMARY KEY,
	"taskId" TEXT NOT NULL
)`;
}

/**
 * The CREATE TABLE of the paused types (pause()): every node's claims skip their tasks.
 * @param tableRef The table as the statement names it.
 * @returns The statement.
 */
export function createPausedTableSql(tableRef: string): string {
	return `CREATE TABLE IF NOT EXISTS ${tableRef} (
	"type" TEXT NOT NULL PRIMARY KEY
)`;
}

/**
 * The DDL that creates the table, its added columns, indexes and side tables when missing, and
 * drops the indexes of earlier versions; each statement is idempotent.
 * @param tableName The checked table name.
 * @returns The statements.
 */
export function createTable(tableName: string): string[] {
	const t = quoteIdentifier(tableName);
	return [
		`${createTaskTableSql(t, COLUMNS)} WITH (fillfactor = ${FILL_FACTOR})`,
		`ALTER TABLE ${t} ${LATER_COLUMNS.map(c => `ADD COLUMN IF NOT EXISTS ${columnDefinition(c)}`).join(", ")}`,
		...LEGACY_INDEXES.map(
			([suffix]) => `DROP INDEX IF EXISTS ${quoteIdentifier(derivedName(tableName, suffix))}`
		),
		...TABLE_INDEXES.map(index =>
			createIndexSql(t, quoteIdentifier(derivedName(tableName, index.suffix)), index)
		),
		createRateTableSql(quoteIdentifier(rateTableName(tableName))),
		createSerialTableSql(quoteIdentifier(serialTableName(tableName))),
		createPausedTableSql(quoteIdentifier(pausedTableName(tableName))),
		createSchedulesTableSql(quoteIdentifier(schedulesTableName(tableName)))
	];
}
