// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { DB_NOW_MS } from "./fragments.js";
import type { ISqlNames } from "./ISqlNames.js";

/**
 * Take a start from a type's fixed rate-limit window, in one statement on the database's clock
 * read once (the CTE is materialized): the window is [floor(now / per) * per, + per), and the
 * upsert takes a start while its count is below max. Concurrent takers of one window serialize on
 * its row and each re-checks the latest committed count (ON CONFLICT DO UPDATE), so no more than
 * max are granted.
 * @param n The names.
 * @returns The statement.
 */
export function takeStartSql(n: ISqlNames): string {
	return `WITH c AS MATERIALIZED (
	SELECT n.ms, n.ms - (n.ms % $3::bigint) AS "windowStart"
	FROM (SELECT ${DB_NOW_MS} AS ms) AS n
), u AS (
	INSERT INTO ${n.rateTable} AS r ("type", "windowStart", "count")
	SELECT $1::text, c."windowStart", 1 FROM c
	ON CONFLICT ("type", "windowStart") DO UPDATE SET "count" = r."count" + 1
	WHERE r."count" < $2::integer
	RETURNING r."count"
)
SELECT (SELECT u."count" FROM u) AS "granted", c."windowStart" + $3::bigint - c.ms AS "waitMs" FROM c`;
}
