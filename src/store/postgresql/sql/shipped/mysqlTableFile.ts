// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { ENTITY_COLUMNS } from "../columns.js";
import type { IColumn } from "../IColumn.js";
import {
	QUEUE_COLUMNS_NOTE,
	SHIPPED_TABLE,
	TWIN_INDEXES,
	TWIN_INDEXES_NOTE
} from "./shippedText.js";

/**
 * Comments written before a column of the MySQL table, by column name.
 */
const NOTES: { [column: string]: string } = {
	dateCreated: "\t-- ISO 8601 dates, compared and sorted as text.",
	retainUntil: "\t-- Epoch milliseconds: too large for INT.",
	payload: `	-- JSON: a native type on MySQL 8 (read back as values); on MariaDB an alias of LONGTEXT with a
	-- JSON_VALID check (read back as JSON text).`,
	priority: QUEUE_COLUMNS_NOTE
};

/**
 * The text of docs/background-task.mysql.sql: the table for TWIN's MySQL entity-storage connector,
 * our entity columns with the MySQL types that hold them, and the indexes of that connector's
 * queries. It lives beside the PostgreSQL files so that all of them come from one column list.
 * @returns The file's text.
 */
export function mysqlTableFile(): string {
	const tick = (name: string): string => `\`${name}\``;
	const noted = (note: string | undefined, line: string): string =>
		note === undefined ? line : `${note}\n${line}`;
	const key = ENTITY_COLUMNS.find(c => c.primaryKey === true)?.name ?? "id";
	const lines = [
		...ENTITY_COLUMNS.map(c => noted(NOTES[c.name], `\t${mysqlColumn(c)}`)),
		`\tPRIMARY KEY (${tick(key)})`,
		...TWIN_INDEXES.map((index, i) =>
			noted(
				i === 0 ? TWIN_INDEXES_NOTE.replaceAll(/^/gm, "\t") : undefined,
				`\tKEY ${tick(`${SHIPPED_TABLE}${index.suffix}`)} (${index.keys.replaceAll('"', "`")})`
			)
		)
	];
	return `-- The background task table for @twin.org/entity-storage-connector-mysql (MySQL 8, MariaDB 10.5+).
-- Create it in the configured database before the node first bootstraps the connector (bootstrap
-- leaves an existing table alone). The connector's own bootstrap makes every number column FLOAT
-- (single precision: a retainFor of 86400001 ms is stored as 86400000), every string LONGTEXT
-- (no index possible but the primary key's 255-character prefix) in the server's default
-- collation, which is case-insensitive on most servers ('A' = 'a').
-- Replace background_task to use another table name.
CREATE TABLE IF NOT EXISTS ${tick(SHIPPED_TABLE)} (
${lines.join(",\n")}
-- Binary collation: case-sensitive equality and the same order as JavaScript's string comparison.
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;`;
}

/**
 * A column as the MySQL table defines it.
 * @param column The column.
 * @returns The definition.
 */
function mysqlColumn(column: IColumn): string {
	return `\`${column.name}\` ${column.mysqlType} ${column.nullable ? "NULL" : "NOT NULL"}`;
}
