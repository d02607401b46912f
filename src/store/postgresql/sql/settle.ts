// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { quoteIdentifier } from "../postgresNames.js";
import { SETTLE_COLUMNS } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * The element type of a settle column's array parameter: JSONB values travel as their JSON text
 * and are cast when written.
 * @param type The column's SQL type.
 * @returns The array's element type.
 */
function elementType(type: string): string {
	return type === "jsonb" ? "text" : type;
}

/**
 * The fields of a settle batch, in parameter order: the fence (id, owner, claimedAt), whether the
 * task is removed, then SETTLE_COLUMNS in order.
 */
export const SETTLE_FIELDS: readonly (readonly [name: string, type: string])[] = [
	["id", "text"],
	["owner", "text"],
	["claimedAt", "text"],
	["remove", "boolean"],
	...SETTLE_COLUMNS
];

/**
 * Whether a settle field is sent as one value for the whole batch: its bit is set in shared (the
 * id never is).
 * @param shared The shared fields, bit i for SETTLE_FIELDS[i].
 * @param i The field's index.
 * @returns True if so.
 */
export function isSharedField(shared: number, i: number): boolean {
	return i > 0 && (shared & (1 << i)) !== 0;
}

/**
 * Write settled tasks and remove finished ones in one statement, each fenced by lease owner,
 * status processing and the claim's dateModified, so a node that lost its lease cannot write over
 * the new owner's claim or result; returns the ids the fence kept out. The batch is one array per
 * field that differs between its tasks, not JSON records: the server then parses no JSON, which
 * halves the statement's time for batches of kept results (docs/performance.md). A field every
 * task of the batch holds the same value of (its owner, a success's status, the NULLs) is one
 * parameter instead, which saves the server parsing and unnesting an array per field
 * (docs/performance.md, "Shared settle fields"). The arrays pass through sub-selects so that no
 * plan sees their length.
 * @param n The names.
 * @param updates Whether the batch has tasks to write.
 * @param removals Whether the batch has tasks to remove.
 * @param shared The fields sent as one value (bit i for SETTLE_FIELDS[i]; never the id): their
 * parameters follow the arrays', in field order.
 * @returns The statement.
 */
export function settleSql(n: ISqlNames, updates: boolean, removals: boolean, shared = 0): string {
	const t = n.table;
	const arrays: string[] = [];
	const arrayNames: string[] = [];
	const scalars: [name: string, type: string][] = [];
	for (let i = 0; i < SETTLE_FIELDS.length; i++) {
		const [name, type] = SETTLE_FIELDS[i];
		if (isSharedField(shared, i)) {
			scalars.push([name, type]);
		} else {
			arrays.push(`(SELECT $${arrays.length + 1}::${elementType(type)}[])`);
			arrayNames.push(quoteIdentifier(name));
		}
	}
	const values = scalars.map(
		([name, type], i) =>
			`, $${arrays.length + i + 1}::${elementType(type)} AS ${quoteIdentifier(name)}`
	);
	const fence = `t."id" = s."id" AND t."leaseOwner" = s."owner" AND t."status" = 'processing' AND t."dateModified" = s."claimedAt"`;
	const parts = [
		`s AS (SELECT x.*${values.join("")} FROM unnest(${arrays.join(", ")}) AS x(${arrayNames.join(", ")}))`
	];
	const results: string[] = [];
	if (updates) {
		const set = SETTLE_COLUMNS.map(
			([c, type]) =>
				`${quoteIdentifier(c)} = s.${quoteIdentifier(c)}${type === "jsonb" ? "::jsonb" : ""}`
		);
		parts.push(`u AS (
	UPDATE ${t} AS t SET ${set.join(", ")}, "leaseOwner" = NULL, "leaseExpires" = NULL,
		"abortReason" = CASE WHEN s."status" = 'pending' THEN t."abortReason" END
	FROM s WHERE NOT s."remove" AND ${fence}
	RETURNING t."id"
)`);
		results.push(`SELECT "id" FROM u`);
	}
	if (removals) {
		parts.push(`d AS (
	DELETE FROM ${t} AS t USING s WHERE s."remove" AND ${fence}
	RETURNING t."id"
)`);
		results.push(`SELECT "id" FROM d`);
	}
	return `WITH ${parts.join(", ")}
SELECT s."id" FROM s WHERE NOT EXISTS (
	SELECT 1 FROM (${results.join(" UNION ALL ")}) AS w WHERE w."id" = s."id"
)`;
}
