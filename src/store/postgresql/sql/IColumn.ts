// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * A column of the task table, one row of COLUMNS (columns.ts): everything the DDL, the
 * statements and the shipped SQL files need to know about it.
 */
export interface IColumn {
	/**
	 * The column's name: the BackgroundTask property it holds, or a lease column's name.
	 */
	readonly name: string;

	/**
	 * Whose column it is: "entity" for a BackgroundTask property (read back by every statement,
	 * also in the tables made for TWIN's connectors), "lease" for the native backend's own.
	 */
	readonly kind: "entity" | "lease";

	/**
	 * The PostgreSQL type, upper case, as the DDL writes it.
	 */
	readonly sqlType: string;

	/**
	 * The MySQL type in the table made for TWIN's MySQL connector (entity columns only).
	 */
	readonly mysqlType?: string;

	/**
	 * The collation of a text column in tables the backend creates ("C": compared byte by byte,
	 * without the locale's rules), when it has one.
	 */
	readonly collate?: "C";

	/**
	 * Whether the column may be NULL.
	 */
	readonly nullable: boolean;

	/**
	 * Whether the column is the primary key.
	 */
	readonly primaryKey?: boolean;

	/**
	 * The package version whose table first had the column: a later one is added to an existing
	 * table by start() and by the shipped migration.
	 */
	readonly since: "0.1.0" | "0.2.0" | "0.3.0" | "0.4.0";

	/**
	 * The column's position in a settle's record and SET list, when a settle writes it.
	 */
	readonly settle?: number;
}
