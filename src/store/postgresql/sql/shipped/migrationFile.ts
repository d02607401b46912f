// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { quoteIdentifier } from "../../postgresNames.js";
import { columnNamed, LATER_COLUMNS } from "../columns.js";
import {
	columnDefinition,
	createPausedTableSql,
	createRateTableSql,
	createSerialTableSql
} from "../createTable.js";
import type { IColumn } from "../IColumn.js";
import { FILL_FACTOR, LEGACY_INDEXES, TABLE_INDEXES } from "../indexes.js";
import { createSchedulesTableSql } from "../schedules.js";
import { TYPE_FIXES } from "../typeFixes.js";
import { indexStatements, SHIPPED_TABLE, TWIN_INDEXES } from "./shippedText.js";

/**
 * The text of docs/background-task.postgresql-migrate.sql: what start() does to an existing
 * table, as statements an administrator can run beforehand on a table of the entity-storage
 * layout (docs/background-task.postgresql.sql or TWIN's bootstrap): the later versions' columns,
 * the type fixes, the native backend's indexes that layout lacks and its side tables.
 * @returns The file's text.
 */
export function migrationFile(): string {
	const plain = (name: string): string => name;
	const twinSuffixes = new Set(TWIN_INDEXES.map(i => i.suffix));
	return `-- Bring an existing background task table up to date. Safe to run on a table that is already
-- correct, and more than once.
--
-- The queue options' columns (priority, deduplication, retry backoff, attempts), the handlers'
-- progress and the OpenTelemetry trace context, all nullable: a task created without an option,
-- whose handler reports no progress, or created with no span active, leaves its column NULL, so
-- existing rows need no change.
${addColumns(LATER_COLUMNS.filter(c => c.kind === "entity"))};
-- Fix a background task table that the PostgreSQL connector's bootstrap created (INTEGER
-- "retainUntil", REAL numbers).
ALTER TABLE ${SHIPPED_TABLE}
${TYPE_FIXES.map(({ column }) => `\tALTER COLUMN ${quoteIdentifier(column)} TYPE ${columnNamed(column).sqlType}`).join(",\n")};
-- For the native PostgreSQL backend (config.postgresql): its nullable lease columns and the
-- abortReason that abort(id) asks of a running task's node, its claim index (by priority, then
-- due date; it replaces the claim index of earlier versions), the dedup index and the tables of
-- rate-limit windows, serial types' holders, paused types and schedules. The backend adds them
-- itself at start() when they are missing; run these lines beforehand to keep DDL out of a
-- node's start. Both paths keep working on the table afterwards. The dedup index cannot be made
-- while two active (pending or processing) tasks of one type share a dedupKey.
${addColumns(LATER_COLUMNS.filter(c => c.kind === "lease"))};
${LEGACY_INDEXES.map(([suffix]) => `DROP INDEX IF EXISTS ${SHIPPED_TABLE}${suffix};`).join("\n")}
${indexStatements(
	TABLE_INDEXES.filter(i => !twinSuffixes.has(i.suffix)),
	plain,
	{
		_claim_due: `-- Optional: room on new pages for HOT updates of claims and settles (existing pages keep theirs
-- until rewritten, e.g. by VACUUM FULL).
ALTER TABLE ${SHIPPED_TABLE} SET (fillfactor = ${FILL_FACTOR});`
	}
)}
${createRateTableSql(`${SHIPPED_TABLE}_rate`)};
${createSerialTableSql(`${SHIPPED_TABLE}_serial`)};
${createPausedTableSql(`${SHIPPED_TABLE}_paused`)};
${createSchedulesTableSql(`${SHIPPED_TABLE}_schedules`)};`;
}

/**
 * An ALTER TABLE that adds columns when missing, one per line.
 * @param columns The columns.
 * @returns The statement, without a semicolon.
 */
function addColumns(columns: readonly IColumn[]): string {
	return `ALTER TABLE ${SHIPPED_TABLE}
${columns.map(c => `\tADD COLUMN IF NOT EXISTS ${columnDefinition(c)}`).join(",\n")}`;
}
