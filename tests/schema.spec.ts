// The native backend's table comes from one column list (src/store/postgresql/sql/columns.ts):
// the shipped SQL files are exactly what it produces, and the statements and row mapping agree
// with it.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/domain/backgroundTask.js";
import { PostgresStatements } from "../src/store/postgresql/postgresStatements.js";
import { settleEntry, TASK_COLUMNS } from "../src/store/postgresql/rowMapping.js";
import { COLUMNS, SETTLE_COLUMNS } from "../src/store/postgresql/sql/columns.js";
import type { IColumn } from "../src/store/postgresql/sql/IColumn.js";
import { shippedSqlFiles } from "../src/store/postgresql/sql/shipped/shippedFiles.js";

describe("shipped SQL files", () => {
	for (const [path, text] of Object.entries(shippedSqlFiles())) {
		test(`${path} is what the column list produces`, () => {
			const shipped = readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
			expect(
				shipped,
				`${path} differs from what src/store/postgresql/sql/ produces: change the column list or ` +
					`the file's text in src/store/postgresql/sql/shipped/, then run "npm run generate:sql" ` +
					`and commit the files it writes`
			).toBe(text);
		});
	}
});

describe("column list", () => {
	test("the table has every column once, the entity's in TASK_COLUMNS order", () => {
		const names = COLUMNS.map(c => c.name);
		expect(new Set(names).size).toBe(names.length);
		expect(names.filter(n => (TASK_COLUMNS as readonly string[]).includes(n))).toEqual([
			...TASK_COLUMNS
		]);
		// The native backend's own columns: the lease, and the abort asked of a running task.
		expect(COLUMNS.filter(c => c.kind === "lease").map(c => c.name)).toEqual([
			"leaseOwner",
			"leaseExpires",
			"abortReason"
		]);
	});

	test("columns added after the first version are nullable and come last in the DDL", () => {
		const added = PostgresStatements.ADDED_COLUMNS.map(([c]) => c);
		expect(COLUMNS.filter(c => added.includes(c.name)).every(c => c.nullable)).toBe(true);
		const ddl = PostgresStatements.createTable("background_task");
		expect(ddl[1]).toBe(
			`ALTER TABLE "background_task" ${PostgresStatements.ADDED_COLUMNS.map(([c, type]) => `ADD COLUMN IF NOT EXISTS "${c}" ${type} NULL`).join(", ")}`
		);
	});

	test("a settle writes exactly the settle columns, numbered without gaps", () => {
		const positions = (COLUMNS as readonly IColumn[])
			.flatMap(c => (c.settle === undefined ? [] : [c.settle]))
			.sort((a, b) => a - b);
		expect(positions).toEqual(positions.map((_, i) => i));
		const task = { id: "a", type: "t", status: "success" } as unknown as BackgroundTask;
		const entry = settleEntry(task, "owner", "2026-01-01T00:00:00.000Z", false);
		expect(Object.keys(entry).sort()).toEqual(
			["id", "owner", "claimedAt", "remove", ...SETTLE_COLUMNS.map(([c]) => c)].sort()
		);
	});
});
