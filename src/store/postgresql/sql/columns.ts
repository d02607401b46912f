// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../../domain/backgroundTask.js";
import type { IColumn } from "./IColumn.js";

/**
 * The task table's columns in table order: the one list from which the DDL (createTable.ts), the
 * migration, the statements' column lists and types, and the shipped SQL files are produced.
 * Entity columns of 0.1.0 first, then the lease columns (0.2.0, the native backend's own), then
 * the queue options' columns (0.3.0, nullable, NULL when a task was created without the option),
 * then progress (0.4.0, nullable, NULL until a handler reports progress) and traceContext (0.4.0,
 * nullable, NULL unless a span was active at create under a registered OpenTelemetry provider).
 * The id, type, thread and date columns are collated "C" in tables the backend creates: the
 * primary key and the claim index then compare bytes rather than call the locale, and their order
 * is the one the entity-storage path sorts in (JavaScript's); ids and ISO dates sort the same in
 * any collation (docs/performance.md).
 */
export const COLUMNS = [
	col("id", "TEXT", "VARCHAR(255)", { nullable: false, primaryKey: true, collate: "C" }),
	col("type", "TEXT", "VARCHAR(255)", { nullable: false, collate: "C" }),
	col("threadId", "TEXT", "VARCHAR(255)", { nullable: false, collate: "C" }),
	col("retryInterval", "DOUBLE PRECISION", "DOUBLE", { settle: 5 }),
	col("retriesRemaining", "DOUBLE PRECISION", "DOUBLE", { settle: 6 }),
	col("dateCreated", "TEXT", "VARCHAR(64)", { nullable: false, collate: "C" }),
	col("dateModified", "TEXT", "VARCHAR(64)", { nullable: false, settle: 1, collate: "C" }),
	col("dateNextProcess", "TEXT", "VARCHAR(64)", { settle: 2, collate: "C" }),
	col("dateCancelled", "TEXT", "VARCHAR(64)", { settle: 3, collate: "C" }),
	col("dateCompleted", "TEXT", "VARCHAR(64)", { settle: 4, collate: "C" }),
	col("retainFor", "DOUBLE PRECISION", "DOUBLE", { settle: 7 }),
	col("retainUntil", "BIGINT", "BIGINT", { settle: 8 }),
	col("status", "TEXT", "VARCHAR(32)", { nullable: false, settle: 0 }),
	col("payload", "JSONB", "JSON"),
	col("result", "JSONB", "JSON", { settle: 9 }),
	col("error", "JSONB", "JSON", { settle: 10 }),
	lease("leaseOwner", "TEXT"),
	lease("leaseExpires", "BIGINT"),
	col("priority", "INTEGER", "INT", { since: "0.3.0" }),
	col("dedupKey", "TEXT", "TEXT", { since: "0.3.0" }),
	col("retryBackoff", "TEXT", "VARCHAR(255)", { since: "0.3.0" }),
	col("retryMaxInterval", "DOUBLE PRECISION", "DOUBLE", { since: "0.3.0" }),
	col("attempts", "INTEGER", "INT", { since: "0.3.0", settle: 11 }),
	col("progress", "JSONB", "JSON", { since: "0.4.0", settle: 12 }),
	col("traceContext", "JSONB", "JSON", { since: "0.4.0" }),
	lease("abortReason", "TEXT", "0.4.0")
] as const satisfies readonly IColumn[];

/**
 * The name of an entity column.
 */
export type TaskColumn = Extract<(typeof COLUMNS)[number], { kind: "entity" }>["name"];

/**
 * The entity's columns, in table order, without the native backend's lease columns: the table
 * made for TWIN's entity-storage connectors has these.
 */
export const ENTITY_COLUMNS: readonly IColumn[] = (COLUMNS as readonly IColumn[]).filter(
	c => c.kind === "entity"
);

/**
 * The entity's column names, in table order: what every statement reads back (never the lease
 * columns, which are the backend's own).
 */
export const TASK_COLUMNS: readonly TaskColumn[] = ENTITY_COLUMNS.map(c => c.name as TaskColumn);

/**
 * The entity's JSONB columns: sent as JSON text and cast, read back parsed.
 */
export const JSON_COLUMNS: readonly TaskColumn[] = TASK_COLUMNS.filter(
	c => columnNamed(c).sqlType === "JSONB"
);

/**
 * The version of the first table: columns of a later one are added to an existing table.
 */
export const FIRST_VERSION = "0.1.0";

/**
 * The columns a later version than the first table's added (all nullable): start() and the
 * shipped migration add them to an existing table when missing.
 */
export const LATER_COLUMNS: readonly IColumn[] = COLUMNS.filter(c => c.since !== FIRST_VERSION);

/**
 * LATER_COLUMNS as names with their SQL types.
 */
export const ADDED_COLUMNS: [column: string, type: string][] = LATER_COLUMNS.map(c => [
	c.name,
	c.sqlType
]);

/**
 * The columns written by a settle, in the settle statement's order, with their SQL types in
 * jsonb_to_recordset.
 */
export const SETTLE_COLUMNS: [column: string, type: string][] = (COLUMNS as readonly IColumn[])
	.flatMap(c =>
		c.settle === undefined ? [] : [{ at: c.settle, column: c.name, type: typeName(c) }]
	)
	.sort((a, b) => a.at - b.at)
	.map(({ column, type }) => [column, type]);

/**
 * The SQL types of the entity's columns (as the backend creates them), for jsonb_to_recordset.
 */
export const COLUMN_TYPES = Object.fromEntries(ENTITY_COLUMNS.map(c => [c.name, typeName(c)])) as {
	[column in TaskColumn]: string;
};

/**
 * A column of the entity.
 * @param name The name.
 * @param sqlType The PostgreSQL type.
 * @param mysqlType The MySQL type.
 * @param options Nullable (default true), primary key, since (default "0.1.0"), settle position,
 * collation.
 * @returns The column.
 */
function col<N extends keyof BackgroundTask>(
	name: N,
	sqlType: string,
	mysqlType: string,
	options: Partial<Pick<IColumn, "nullable" | "primaryKey" | "since" | "settle" | "collate">> = {}
): IColumn & { name: N; kind: "entity" } {
	return { name, kind: "entity", sqlType, mysqlType, nullable: true, since: "0.1.0", ...options };
}

/**
 * A native column: the backend's own (leases since 0.2.0; abortReason, the reason of an
 * abort(id) asked of a processing task's owner, since 0.4.0), nullable.
 * @param name The name.
 * @param sqlType The PostgreSQL type.
 * @param since The version that added it.
 * @returns The column.
 */
function lease<N extends string>(
	name: N,
	sqlType: string,
	since: IColumn["since"] = "0.2.0"
): IColumn & { name: N; kind: "lease" } {
	return { name, kind: "lease", sqlType, nullable: true, since };
}

/**
 * A column of the table.
 * @param name The column's name.
 * @returns The column.
 */
export function columnNamed(name: string): IColumn {
	const column = (COLUMNS as readonly IColumn[]).find(c => c.name === name);
	if (column === undefined) {
		throw new Error(`No column ${name}`);
	}
	return column;
}

/**
 * A column's type as information_schema reports it and the statements' casts write it.
 * @param column The column.
 * @returns The type, lower case.
 */
export function typeName(column: IColumn): string {
	return column.sqlType.toLowerCase();
}
