// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { migrationFile } from "./migrationFile.js";
import { mysqlTableFile } from "./mysqlTableFile.js";
import { nativeTableFile } from "./nativeTableFile.js";
import { twinPostgresTableFile } from "./twinPostgresTableFile.js";

/**
 * The shipped SQL files produced from the column list, by path from the repository's root, with
 * their text (ending with a newline). `npm run generate:sql` writes them; tests/schema.spec.ts
 * fails when one differs.
 * @returns Path to text.
 */
export function shippedSqlFiles(): { [path: string]: string } {
	return {
		"docs/background-task.postgresql.sql": `${twinPostgresTableFile()}\n`,
		"docs/background-task.postgresql-native.sql": `${nativeTableFile()}\n`,
		"docs/background-task.postgresql-migrate.sql": `${migrationFile()}\n`,
		"docs/background-task.mysql.sql": `${mysqlTableFile()}\n`
	};
}
