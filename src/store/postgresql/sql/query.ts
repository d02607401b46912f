// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { SortDirection } from "@twin.org/entity";
import { quoteIdentifier } from "../postgresNames.js";
import type { TaskColumn } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * A page of tasks filtered by type and/or status, sorted by one column then id so pages are
 * stable; the sort column comes from the entity's fixed column list, never from input text.
 * @param n The names.
 * @param byType Filter by type ($1).
 * @param byStatus Filter by status (the next parameter).
 * @param sortColumn The sort column.
 * @param direction The direction.
 * @returns The statement; LIMIT and OFFSET are its last two parameters.
 */
export function querySql(
	n: ISqlNames,
	byType: boolean,
	byStatus: boolean,
	sortColumn: TaskColumn,
	direction: SortDirection
): string {
	const where: string[] = [];
	let count = 0;
	if (byType) {
		where.push(`"type" = $${++count}`);
	}
	if (byStatus) {
		where.push(`"status" = $${++count}`);
	}
	const dir = direction === SortDirection.Descending ? "DESC" : "ASC";
	return `SELECT ${n.columns} FROM ${n.table}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
ORDER BY ${quoteIdentifier(sortColumn)} ${dir}, "id" ASC
LIMIT $${count + 1} OFFSET $${count + 2}`;
}
