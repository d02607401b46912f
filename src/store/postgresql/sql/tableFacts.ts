// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What start() checks of the task table and its side tables, in one statement: each table's
 * columns with the type information_schema.columns reports for it (its expression and its
 * visibility rule, read from pg_catalog directly), and the task table's indexes. Parameters: $1
 * the table names as an array literal, $2 the task table's name. A row is (owner, name, type):
 * a column, or an index when type is NULL.
 *
 * Not the information_schema view itself: on a new connection it costs several times as much to
 * plan and read, and every node's start waits for it (docs/performance.md, "A cold start").
 */
export const TABLE_FACTS_SQL = `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
SELECT c.relname AS owner, a.attname AS name,
	CASE WHEN t.typtype = 'd' THEN
		CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN 'ARRAY'
			WHEN bt.typnamespace = 'pg_catalog'::regnamespace THEN format_type(t.typbasetype, NULL)
			ELSE 'USER-DEFINED' END
	ELSE
		CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN 'ARRAY'
			WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN format_type(a.atttypid, NULL)
			ELSE 'USER-DEFINED' END
	END AS type
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relname = ANY($1::text[])
	AND c.relkind IN ('r', 'v', 'f', 'p') AND a.attnum > 0 AND NOT a.attisdropped
	AND (pg_has_role(c.relowner, 'USAGE')
		OR has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
UNION ALL
SELECT c.relname, i.relname, NULL
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relname = $2
	AND c.relkind IN ('r', 'm', 'p') AND i.relkind IN ('i', 'I')`;
