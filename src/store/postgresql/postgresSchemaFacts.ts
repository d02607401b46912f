// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { rateTableName, serialTableName } from "./postgresNames.js";
import { ADDED_COLUMNS } from "./sql/columns.js";
import { createTable } from "./sql/createTable.js";
import { FILL_FACTOR, indexNames, LEGACY_INDEXES, TABLE_INDEXES } from "./sql/indexes.js";

/**
 * The schema's facts that callers read as static members of PostgresStatements, which extends
 * this class: they live in sql/columns.ts, sql/indexes.ts, sql/createTable.ts and
 * postgresNames.ts, and are kept apart from the statements' text so that each file stays one
 * job's size.
 */
export class PostgresSchemaFacts {
	/**
	 * The indexes the backend creates (sql/indexes.ts) as tuples: name suffix, key columns, then
	 * a unique index's condition as the third element or a partial index's as the fourth.
	 */
	public static readonly INDEXES: [
		suffix: string,
		columns: string,
		unique?: string,
		where?: string
	][] = TABLE_INDEXES.map(({ suffix, keys, unique, where }) =>
		unique === true
			? [suffix, keys, where]
			: where === undefined
				? [suffix, keys]
				: [suffix, keys, undefined, where]
	);

	/**
	 * The suffixes of earlier versions' indexes, with what replaced each (sql/indexes.ts).
	 */
	public static readonly LEGACY_INDEXES: [suffix: string, replacedBy: string][] = LEGACY_INDEXES;

	/**
	 * The fill factor of a table the backend creates (sql/indexes.ts).
	 */
	public static readonly FILL_FACTOR = FILL_FACTOR;

	/**
	 * The columns the backend adds to an existing table when missing (sql/columns.ts).
	 */
	public static readonly ADDED_COLUMNS: [column: string, type: string][] = ADDED_COLUMNS;

	/**
	 * The name of the rate-limit windows' table beside a task table (postgresNames.ts).
	 */
	public static readonly rateTableName: (tableName: string) => string = rateTableName;

	/**
	 * The name of the serial types' holders' table beside a task table (postgresNames.ts).
	 */
	public static readonly serialTableName: (tableName: string) => string = serialTableName;

	/**
	 * The names of the backend's indexes on a table (sql/indexes.ts).
	 */
	public static readonly indexNames: (tableName: string) => string[] = indexNames;

	/**
	 * The idempotent DDL that makes a table ready (sql/createTable.ts).
	 */
	public static readonly createTable: (tableName: string) => string[] = createTable;
}
