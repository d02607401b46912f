// Issue 21, item 3: the claim's plan stays a scan of the claim index, in the order it reads, on a
// table the planner has never analyzed, on one autovacuum analyzed (while it held only retained
// tasks, then a backlog arrived), and with a million retained final tasks beside the backlog; and
// the claim of a batch then reads only the due rows, not the retained ones.
// The file has a server of its own: autovacuum wakes every second there (the default is a
// minute), so a test can wait for it.
import type postgres from "postgres";
import { describe, expect, test } from "vitest";
import { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import { waitFor } from "../helpers/harness.js";
import { analyzedPlan, newTask, plansOf, useSources } from "./helpers.js";

const pg = useSources({ settings: { autovacuum_naptime: "1" } });

/**
 * The admin client.
 * @returns The client.
 */
function admin(): postgres.Sql {
	return pg.server().sql;
}

/**
 * The parameters of a fetch run with values.
 * @param type The type.
 * @param limit How many tasks at most.
 * @param owner The claim's owner.
 * @returns The parameters.
 */
function fetchValues(type: string, limit: number, owner = "owner"): (string | number)[] {
	return [type, "main", limit, new Date().toISOString(), owner, 30000];
}

/**
 * The parameters of a fetch of 500 due tasks of a type, as PREPARE types and SQL literals.
 * @param type The type.
 * @returns Types and arguments.
 */
function fetchArgs(type: string): [types: string, args: string] {
	return [
		"text, text, integer, text, text, bigint",
		fetchValues(type, 500)
			.map(v => (typeof v === "number" ? String(v) : `'${v}'`))
			.join(", ")
	];
}

/**
 * Whether a plan (EXPLAIN JSON text) reads the claim index in claim order: no sort, no scan of
 * the table.
 * @param plan The plan.
 * @returns True when it does.
 */
function readsClaimIndex(plan: string): boolean {
	return (
		plan.includes(`"Index Name":"${pg.table()}_claim_due"`) &&
		!plan.includes(`"Node Type":"Seq Scan"`) &&
		!plan.includes(`"Node Type":"Bitmap Heap Scan"`) &&
		!plan.includes(`"Node Type":"Sort"`)
	);
}

/**
 * A plan's estimated total cost.
 * @param plan The plan (EXPLAIN JSON text).
 * @returns The cost.
 */
function totalCost(plan: string): number {
	return (JSON.parse(plan) as { "QUERY PLAN": { Plan: { "Total Cost": number } }[] }[])[0][
		"QUERY PLAN"
	][0].Plan["Total Cost"];
}

/**
 * Expect the fetch of a type to read the claim index in claim order in the custom plan (its
 * parameters known), and in the generic plan a prepared statement may switch to after five runs,
 * unless that one is estimated costlier than the custom plan: then PostgreSQL never switches.
 * @param type The type.
 */
async function expectClaimIndexScan(type: string): Promise<void> {
	const statements = new PostgresStatements(pg.table());
	const [custom, generic] = await plansOf(admin(), statements.fetch, ...fetchArgs(type));
	expect(custom).toSatisfy(readsClaimIndex);
	if (!readsClaimIndex(generic)) {
		expect(totalCost(generic)).toBeGreaterThan(10 * totalCost(custom));
	}
}

/**
 * The planner's knowledge of the table: its row estimate (-1 before any analyze or vacuum) and
 * when it was last analyzed, by hand or by autovacuum.
 * @returns The statistics.
 */
async function tableStats(): Promise<{
	reltuples: number;
	analyzed: boolean;
	autoAnalyzed: boolean;
}> {
	const [row] = await admin().unsafe(
		`SELECT c.reltuples::float8 AS reltuples, s.last_analyze IS NOT NULL AS analyzed,
			s.last_autoanalyze IS NOT NULL AS "autoAnalyzed"
		FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = $1`,
		[pg.table()]
	);
	return row as unknown as { reltuples: number; analyzed: boolean; autoAnalyzed: boolean };
}

/**
 * Insert retained final tasks of a type in one statement, as a settle leaves them: status
 * success, no due date, a result, retainUntil -1 (kept for ever). Their ids ascend, as task ids
 * made over time do (they begin with their creation time).
 * @param type The type.
 * @param count How many.
 */
async function insertRetained(type: string, count: number): Promise<void> {
	const now = new Date().toISOString();
	await admin().unsafe(
		`INSERT INTO "${pg.table()}" ("id", "type", "threadId", "dateCreated", "dateModified",
			"dateCompleted", "retainUntil", "status", "payload", "result", "attempts")
		SELECT 'kept-' || lpad(i::text, 8, '0'), $1, 'main', $2, $2, $2, -1, 'success',
			jsonb_build_object('i', i), jsonb_build_object('done', i), 1
		FROM generate_series(1, $3::int) AS i`,
		[type, now, count]
	);
}

/**
 * Wait (bounded) for autovacuum to analyze the table.
 */
async function waitForAutoAnalyze(): Promise<void> {
	await waitFor(
		async () => (await tableStats()).autoAnalyzed,
		60_000,
		"autovacuum to analyze the table"
	);
}

describe("the claim's plan", () => {
	test("on a table the planner has never analyzed: the claim index in order", async () => {
		const { source } = await pg.open();
		await admin().unsafe(`ALTER TABLE "${pg.table()}" SET (autovacuum_enabled = off)`);
		await source.insertMany(Array.from({ length: 50_000 }, () => newTask({ type: "cold" })));
		expect(await tableStats()).toEqual({ reltuples: -1, analyzed: false, autoAnalyzed: false });
		await expectClaimIndexScan("cold");
	}, 60_000);

	test("analyzed by autovacuum while it held only retained tasks, then a backlog came: the claim index in order", async () => {
		const { source } = await pg.open();
		await admin().unsafe(
			`ALTER TABLE "${pg.table()}" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0)`
		);
		await insertRetained("warm", 100_000);
		await waitForAutoAnalyze();
		// No analyze after this: the statistics say the type has no due task at all.
		await admin().unsafe(`ALTER TABLE "${pg.table()}" SET (autovacuum_enabled = off)`);
		await source.insertMany(Array.from({ length: 50_000 }, () => newTask({ type: "warm" })));
		expect((await tableStats()).analyzed).toBe(false);
		await expectClaimIndexScan("warm");
	}, 90_000);

	test("with a million retained tasks beside 50,000 due: the claim index in order, reading only due rows", async () => {
		const { source } = await pg.open();
		// The statistics are those of the ANALYZE below, whenever autovacuum would wake.
		await admin().unsafe(`ALTER TABLE "${pg.table()}" SET (autovacuum_enabled = off)`);
		await insertRetained("busy", 1_000_000);
		await source.insertMany(Array.from({ length: 50_000 }, () => newTask({ type: "busy" })));
		await admin().unsafe(`ANALYZE "${pg.table()}"`);
		await expectClaimIndexScan("busy");
		// Run: the batch of 500 is read from the index without stepping over retained rows (their
		// due date is NULL, last in the index) and without filtering any out.
		const statements = new PostgresStatements(pg.table());
		const nodes = await analyzedPlan(admin(), statements.fetch, fetchValues("busy", 500));
		const scan = nodes.find(n => n["Index Name"] === `${pg.table()}_claim_due`);
		expect(scan?.["Actual Rows"]).toBe(500);
		expect(scan?.["Rows Removed by Filter"] ?? 0).toBe(0);
	}, 180_000);

	test("reads the database clock once a statement, not once for each row it passes or takes", async () => {
		const { source } = await pg.open();
		// No analyze in between: the plan stays the one of a table never analyzed (above).
		await admin().unsafe(`ALTER TABLE "${pg.table()}" SET (autovacuum_enabled = off)`);
		await source.insertMany(Array.from({ length: 1_000 }, () => newTask({ type: "clock" })));
		const statements = new PostgresStatements(pg.table());
		const claim = async (limit: number, owner: string): Promise<void> => {
			await admin().unsafe(statements.fetch, fetchValues("clock", limit, owner));
		};
		// 300 tasks processing under live leases, ahead of the pending ones in the claim index.
		await claim(300, "first");
		const nodes = await analyzedPlan(admin(), statements.fetch, fetchValues("clock", 200));
		const scan = nodes.find(n => n["Index Name"] === `${pg.table()}_claim_due`);
		expect(scan?.["Rows Removed by Filter"]).toBe(300);
		expect(scan?.["Actual Rows"]).toBe(200);
		// The lease test compares with a parameter of the plan (an InitPlan's value).
		expect(String(scan?.Filter)).not.toContain("clock_timestamp");
		expect(String(scan?.Filter)).toMatch(/"leaseExpires" < \$\d+/);
		// Every task one claim takes gets the same lease end.
		await claim(200, "second");
		const rows = await admin().unsafe(
			`SELECT "leaseOwner" AS owner, count(*)::int AS claimed, count(DISTINCT "leaseExpires")::int AS ends FROM "${pg.table()}" WHERE "type" = 'clock' AND "status" = 'processing' GROUP BY 1 ORDER BY 1`
		);
		expect(rows.map(r => ({ ...r }))).toEqual([
			{ owner: "first", claimed: 300, ends: 1 },
			{ owner: "second", claimed: 200, ends: 1 }
		]);
	}, 60_000);
});
