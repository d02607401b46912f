// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import type { Sql, TransactionSql } from "postgres";
import { arrayLiteral, transaction } from "./postgresConnection.js";
import {
	derivedName,
	pausedTableName,
	schedulesTableName,
	quoteIdentifier,
	rateTableName,
	serialTableName,
	UNIQUE_VIOLATION
} from "./postgresNames.js";
import { columnNamed, COLUMNS, FIRST_VERSION, LATER_COLUMNS, typeName } from "./sql/columns.js";
import { createTable } from "./sql/createTable.js";
import { indexNames, LEGACY_INDEXES } from "./sql/indexes.js";
import { TABLE_FACTS_SQL } from "./sql/tableFacts.js";
import { TYPE_FIXES } from "./sql/typeFixes.js";

/**
 * The class name used as the source of errors.
 */
const CLASS_NAME = "PostgresTaskSource";

/**
 * The type start() changes each fixable column to, by column, with the types it changes from
 * (sql/typeFixes.ts).
 */
const FIXES: { [column: string]: { to: string; from: readonly string[] } } = Object.fromEntries(
	TYPE_FIXES.map(({ column, from }) => [column, { to: typeName(columnNamed(column)), from }])
);

/**
 * Every column with the type information_schema reports for it: the first table's columns with
 * a type of their own, then the later versions' columns, then the columns whose type start()
 * fixes (the order in which problems are found and reported).
 */
const EXPECTED_TYPES: Map<string, string> = new Map([
	...COLUMNS.filter(c => c.since === FIRST_VERSION && FIXES[c.name] === undefined).map(
		c => [c.name, typeName(c)] as const
	),
	...LATER_COLUMNS.map(c => [c.name, typeName(c)] as const),
	...Object.entries(FIXES).map(([column, fix]) => [column, fix.to] as const)
]);

/**
 * Make the table ready: create it with its indexes and side tables when missing, add the backend's
 * lease columns, the queue options' columns, the indexes and the side tables to an existing table
 * (dropping the claim index of earlier versions), and fix the column types of a table made by
 * TWIN's connector bootstrap. Runs under a transaction-scoped advisory lock, so nodes starting
 * together do not race on the DDL; every statement is idempotent.
 * @param sql The pool.
 * @param tableName The checked table name.
 * @returns What was changed on an existing table (empty when it was already complete or new).
 * @throws GeneralError tableIncompatible when a column has a type the backend cannot use, or when
 * active tasks share a type and dedupKey (the dedup index cannot be made).
 */
export async function ensureTable(sql: Sql, tableName: string): Promise<string[]> {
	if (isReady(tableName, await tableFacts(sql, tableName))) {
		return [];
	}
	return transaction(sql, async tx => {
		await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [
			`twin-background-task:${tableName}`
		]);
		const facts = await tableFacts(tx, tableName);
		const columns = facts.columns.get(tableName) ?? new Map<string, string>();
		const { changes, fixes } = columnChanges(tableName, columns);
		for (const [suffix, replacedBy] of LEGACY_INDEXES) {
			const legacy = derivedName(tableName, suffix);
			if (facts.indexes.has(legacy)) {
				changes.push(`${legacy}: replaced by ${replacedBy}`);
			}
		}
		await runCreateTable(tx, tableName);
		if (fixes.length > 0) {
			await tx.unsafe(`ALTER TABLE ${quoteIdentifier(tableName)} ${fixes.join(", ")}`);
		}
		return changes;
	});
}

/**
 * What start() reads of the task table and its side tables (TABLE_FACTS_SQL).
 */
interface ITableFacts {
	/**
	 * Each existing table's columns and their types, by table name.
	 */
	columns: Map<string, Map<string, string>>;

	/**
	 * The names of the task table's indexes.
	 */
	indexes: Set<string>;
}

/**
 * Whether the table, its columns of the right types, its indexes (none of an earlier version)
 * and its side tables all exist: the usual start, read without a lock.
 * @param tableName The checked table name.
 * @param facts What the catalog holds.
 * @returns True when nothing is to be done.
 */
function isReady(tableName: string, facts: ITableFacts): boolean {
	const existing = facts.columns.get(tableName);
	return (
		existing !== undefined &&
		missingOrWrong(existing).length === 0 &&
		indexNames(tableName).every(name => facts.indexes.has(name)) &&
		LEGACY_INDEXES.every(([suffix]) => !facts.indexes.has(derivedName(tableName, suffix))) &&
		sideTableNames(tableName).every(name => facts.columns.has(name))
	);
}

/**
 * The side tables of the task table.
 * @param tableName The task table.
 * @returns Their names.
 */
function sideTableNames(tableName: string): string[] {
	return [
		rateTableName(tableName),
		serialTableName(tableName),
		pausedTableName(tableName),
		schedulesTableName(tableName)
	];
}

/**
 * What an existing table's columns need: the type fixes to run and the changes to report (a
 * missing column the backend adds, a type it fixes).
 * @param tableName The checked table name.
 * @param columns The table's columns and types (empty when there is no table).
 * @returns The changes to report and the ALTER COLUMN clauses of the type fixes.
 * @throws GeneralError tableIncompatible when a column is missing or of a type the backend
 * neither adds nor fixes.
 */
function columnChanges(
	tableName: string,
	columns: Map<string, string>
): { changes: string[]; fixes: string[] } {
	const changes: string[] = [];
	const fixes: string[] = [];
	for (const problem of missingOrWrong(columns)) {
		const fix = FIXES[problem.column];
		if (problem.type !== undefined && fix?.from.includes(problem.type)) {
			fixes.push(`ALTER COLUMN ${quoteIdentifier(problem.column)} TYPE ${fix.to}`);
			changes.push(`${problem.column}: ${problem.type} -> ${fix.to}`);
		} else if (columns.size > 0 && (problem.type !== undefined || !isAddedColumn(problem.column))) {
			throw new GeneralError(CLASS_NAME, "tableIncompatible", {
				table: tableName,
				column: problem.column,
				type: problem.type ?? "missing"
			});
		} else if (columns.size > 0) {
			changes.push(`${problem.column}: added`);
		}
	}
	return { changes, fixes };
}

/**
 * Run the table's DDL (every statement idempotent).
 * @param tx The transaction.
 * @param tableName The checked table name.
 * @throws GeneralError tableIncompatible when active tasks share a type and dedupKey.
 */
async function runCreateTable(tx: TransactionSql, tableName: string): Promise<void> {
	for (const statement of createTable(tableName)) {
		try {
			await tx.unsafe(statement);
		} catch (err) {
			if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
				// The dedup index on a table whose active tasks already share a key (written where
				// nothing enforced it).
				throw new GeneralError(
					CLASS_NAME,
					"tableIncompatible",
					{ table: tableName, column: "dedupKey", type: "not unique among active tasks" },
					err
				);
			}
			throw err;
		}
	}
}

/**
 * The columns that are missing or of a type other than the backend's.
 * @param columns The table's columns and types (empty when there is no table).
 * @returns The problems.
 */
function missingOrWrong(
	columns: Map<string, string>
): { column: string; type: string | undefined }[] {
	return [...EXPECTED_TYPES]
		.filter(([column, type]) => columns.get(column) !== type)
		.map(([column]) => ({ column, type: columns.get(column) }));
}

/**
 * Is the column one the backend adds itself when missing.
 * @param column The column.
 * @returns True for the lease columns and the queue options' columns.
 */
function isAddedColumn(column: string): boolean {
	return LATER_COLUMNS.some(c => c.name === column);
}

/**
 * Read the task table's and its side tables' columns and the task table's indexes, in one
 * statement.
 * @param sql The pool or the transaction.
 * @param tableName The task table.
 * @returns The facts; a table that does not exist has no entry in columns.
 */
async function tableFacts(sql: Sql | TransactionSql, tableName: string): Promise<ITableFacts> {
	const rows = await sql.unsafe<{ owner: string; name: string; type: string | null }[]>(
		TABLE_FACTS_SQL,
		[arrayLiteral([tableName, ...sideTableNames(tableName)]), tableName]
	);
	const facts: ITableFacts = { columns: new Map(), indexes: new Set() };
	for (const row of rows) {
		if (row.type === null) {
			facts.indexes.add(row.name);
		} else {
			let columns = facts.columns.get(row.owner);
			if (!columns) {
				columns = new Map();
				facts.columns.set(row.owner, columns);
			}
			columns.set(row.name, row.type);
		}
	}
	return facts;
}
