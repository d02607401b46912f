// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { ENTITY_COLUMNS } from "../columns.js";
import { createTaskTableSql } from "../createTable.js";
import {
	indexStatements,
	QUEUE_COLUMNS_NOTE,
	SHIPPED_TABLE,
	TWIN_INDEXES,
	TWIN_INDEXES_NOTE
} from "./shippedText.js";

/**
 * The text of docs/background-task.postgresql.sql: the table for TWIN's PostgreSQL entity-storage
 * connector, our entity columns with the types that hold them, and the indexes of that
 * connector's queries (not the native backend's, whose table has no lease columns here).
 * @returns The file's text.
 */
export function twinPostgresTableFile(): string {
	return `-- The background task table for @twin.org/entity-storage-connector-postgresql.
-- Create it before the node first bootstraps the connector (bootstrap leaves an existing table
-- alone). The connector's own bootstrap makes "retainUntil" a 32-bit INTEGER, too small for epoch
-- milliseconds ("out of range for type integer"), and number columns REAL (24-bit precision).
-- Keep the table name lower case: the connector quotes it in queries but not when it creates it.
${createTaskTableSql(SHIPPED_TABLE, ENTITY_COLUMNS, { priority: QUEUE_COLUMNS_NOTE })};
${TWIN_INDEXES_NOTE}
${indexStatements(TWIN_INDEXES, name => name)}`;
}
