// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { quoteIdentifier } from "../postgresNames.js";
import { SETTLE_COLUMNS } from "./columns.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Write settled tasks and remove finished ones from one JSON parameter, each fenced by lease
 * owner, status processing and the claim's dateModified, so a node that lost its lease cannot
 * write over the new owner's claim or result; returns the ids the fence kept out.
 * @param n The names.
 * @param updates Whether the batch has tasks to write.
 * @param removals Whether the batch has tasks to remove.
 * @returns The statement.
 */
export function settleSql(n: ISqlNames, updates: boolean, removals: boolean): string {
	const t = n.table;
	const record = [
		`"id" text`,
		`"owner" text`,
		`"claimedAt" text`,
		`"remove" boolean`,
		...SETTLE_COLUMNS.map(([c, type]) => `${quoteIdentifier(c)} ${type}`)
	].join(", ");
	const fence = `t."id" = s."id" AND t."leaseOwner" = s."owner" AND t."status" = 'processing' AND t."dateModified" = s."claimedAt"`;
	const parts = [`s AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(${record}))`];
	const results: string[] = [];
	if (updates) {
		const set = SETTLE_COLUMNS.map(([c]) => `${quoteIdentifier(c)} = s.${quoteIdentifier(c)}`);
		parts.push(`u AS (
	UPDATE ${t} AS t SET ${set.join(", ")}, "leaseOwner" = NULL, "leaseExpires" = NULL
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
