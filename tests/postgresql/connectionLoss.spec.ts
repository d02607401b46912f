// The native backend when its connections are cut, through a TCP proxy that resets (RST) or closes
// (FIN) them with no ErrorResponse first: under a transaction (createMany of more than one chunk,
// a serial type's claim), where postgres.js's sql.begin wrote its ROLLBACK to the closed
// connection and crashed the process; at a new connection's first statement, where its type query
// left an unhandled rejection; and under a create, which is written again and never twice. Also:
// a statement is reported done only once committed (postgres.js 3.4.9).
import { SortDirection } from "@twin.org/entity";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { arrayLiteral } from "../../src/store/postgresql/postgresConnection.js";
import { waitFor } from "../helpers/harness.js";
import { ResetProxy } from "../helpers/resetProxy.js";
import { newTask, useSources } from "./helpers.js";

const pg = useSources();
let proxy: ResetProxy;
let proxyPort = 0;

beforeEach(async () => {
	proxy = new ResetProxy(pg.server().host, pg.server().port);
	proxyPort = await proxy.listen();
});

afterEach(async () => {
	await proxy.close();
});

/**
 * The rows of the test's table.
 * @returns How many.
 */
async function rowCount(): Promise<number> {
	const rows = await pg
		.server()
		.sql.unsafe<{ n: number }[]>(`SELECT count(*)::int AS "n" FROM "${pg.table()}"`);
	return rows[0].n;
}

/**
 * How a promise settles, and how long it took.
 * @param promise The promise.
 * @returns The error's code (undefined when it resolved) and the time.
 */
async function outcome(promise: Promise<unknown>): Promise<{ code?: string; ms: number }> {
	const started = performance.now();
	try {
		await promise;
		return { ms: performance.now() - started };
	} catch (err) {
		return { code: String((err as { code?: unknown }).code), ms: performance.now() - started };
	}
}

describe("a connection cut under a transaction", () => {
	test("createMany of 10,001 tasks (two chunks in a transaction), every attempt cut: rejects, stores nothing, and the next call succeeds", async () => {
		const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
		const tasks = Array.from({ length: 10_001 }, (_, i) => newTask({ payload: { i } }));
		// The first chunk is about 2 MB: the connection is reset while it is being sent.
		proxy.resetAfterUpload(256 * 1024);
		const cut = await outcome(source.insertMany(tasks));
		expect(proxy.resets).toBeGreaterThan(0);
		expect(cut.code).toMatch(/^(ECONNRESET|EPIPE|CONNECTION_CLOSED)$/);
		expect(cut.ms).toBeLessThan(5000);
		proxy.disarm();
		expect(await rowCount()).toBe(0);

		await source.insertMany(tasks);
		expect(await rowCount()).toBe(10_001);
	}, 30000);

	test.each(["reset", "close"] as const)(
		"a serial type's claim waiting for its lock, connection %s: rejects at once, and the next claim takes the task",
		async cut => {
			const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
			const task = newTask({ type: "serial" });
			await source.insert(task);
			// Another session holds the type's lock, so the claim's transaction waits inside it.
			const admin = await pg.server().sql.reserve();
			try {
				await admin.unsafe("BEGIN");
				await admin.unsafe(
					`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))`,
					[`"${pg.table()}"`, "serial"]
				);
				const claim = outcome(source.fetch("serial", task.threadId ?? "", 1, 0, true));
				await waitFor(
					async () => {
						const rows = await pg.server().sql.unsafe<{ n: number }[]>(
							`SELECT count(*)::int AS "n" FROM pg_stat_activity
						WHERE "wait_event_type" = 'Lock' AND "wait_event" = 'advisory'
						AND "application_name" = 'twin-background-task' AND "datname" = current_database()`
						);
						return rows[0].n > 0;
					},
					10000,
					"the claim to wait for the serial lock"
				);
				if (cut === "reset") {
					proxy.resetAll();
				} else {
					proxy.closeAll();
				}
				const lost = await claim;
				expect(lost.code).toMatch(/^(ECONNRESET|EPIPE|CONNECTION_CLOSED)$/);
				expect(lost.ms).toBeLessThan(5000);
			} finally {
				await admin.unsafe("COMMIT");
				admin.release();
			}
			// The pool's one connection serves the next claim (postgres.js had left the ROLLBACK in its
			// write buffer, ahead of the next connection's startup message: every reconnect hung).
			const next = await source.fetch("serial", task.threadId ?? "", 1, 0, true);
			expect(next.tasks.map(t => t.id)).toEqual([task.id]);
		},
		30000
	);
});

describe("a new connection cut at its first statement", () => {
	test.each(["reset", "close"] as const)(
		"connection %s: the statement rejects, nothing is left unhandled, and the pool connects again",
		async cut => {
			const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
			await source.insert(newTask());
			// postgres.js 3.4.7 sends its query for the server's array types first on each new
			// connection, and left that query's rejection unhandled when the connection closed: the
			// process ended (the pools no longer send it).
			const unhandled: unknown[] = [];
			const onUnhandled = (reason: unknown): void => {
				unhandled.push(reason);
			};
			process.on("unhandledRejection", onUnhandled);
			try {
				proxy.cutNewAfterUpload(120, cut);
				proxy.closeAll();
				// Statements fail until the pool has seen the close and connects again; the proxy then
				// cuts the new connection at its first statement.
				const codes = new Set<string | undefined>();
				await waitFor(
					async () => {
						codes.add((await outcome(source.insert(newTask()))).code);
						return proxy.newCuts > 0;
					},
					15000,
					"a new connection to be cut"
				);
				for (const code of codes) {
					expect(code).toMatch(/^(ECONNRESET|EPIPE|CONNECTION_CLOSED)$/);
				}
				proxy.disarm();
				await source.insert(newTask());
				expect(await rowCount()).toBe(2);
				expect(unhandled).toEqual([]);
			} finally {
				process.off("unhandledRejection", onUnhandled);
			}
		},
		30000
	);
});

describe("a create whose connection is lost is written again, never twice", () => {
	test("create on a connection the server closed: written again on a new one", async () => {
		const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
		await source.insert(newTask());
		proxy.closeAll();
		const task = newTask();
		expect(await source.insert(task)).toBe(task.id);
		expect(await rowCount()).toBe(2);
	});

	test("reads and remove on a connection the server closed: run again on a new one", async () => {
		const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
		const kept = newTask();
		const removed = newTask();
		await source.insert(kept);
		await source.insert(removed);
		proxy.closeAll();
		expect((await source.get(kept.id))?.id).toBe(kept.id);
		proxy.closeAll();
		const page = await source.query({
			sortProperty: "dateCreated",
			sortDirection: SortDirection.Ascending,
			pageSize: 10
		});
		expect(page.entities.map(t => t.id).sort()).toEqual([kept.id, removed.id].sort());
		proxy.closeAll();
		expect((await source.counts(undefined, 0)).counts.native).toEqual({ pending: 2 });
		proxy.closeAll();
		await source.remove(removed.id);
		expect(await rowCount()).toBe(1);
		// (The LISTEN connection goes through the proxy too.)
		expect(proxy.resets).toBeGreaterThanOrEqual(4);
	});

	test.each([
		// [what, tasks per call, the command tag of the answer sent once it committed]
		["create", 1, "SELECT 1"],
		["create with a dedupKey", 1, "SELECT 1"],
		["createMany of one statement", 100, "SELECT 1"],
		["createMany of two statements in a transaction", 10_001, "COMMIT"]
	] as const)(
		"%s committed, its answer lost with the connection: the repeat finds it stored",
		async (kind, count, tag) => {
			const { source } = await pg.open({ port: proxyPort, maxConnections: 1 });
			let keys = 0;
			const call = async (): Promise<void> => {
				const tasks = Array.from({ length: count }, () =>
					newTask(kind === "create with a dedupKey" ? { dedupKey: `k${keys++}` } : {})
				);
				if (count === 1) {
					expect(await source.insert(tasks[0])).toBe(tasks[0].id);
				} else {
					await source.insertMany(tasks);
				}
			};
			// A first call prepares the statements (the cut answer is then the one sent after the
			// statement ran and committed, not a description of it).
			await call();
			proxy.cutAnswerWith(tag);
			await call();
			// Before the fix the call failed with CONNECTION_CLOSED although its tasks were stored.
			expect(proxy.resets).toBe(1);
			expect(await rowCount()).toBe(2 * count);
		},
		30000
	);
});

describe("text[] parameters without the server's type list", () => {
	test("quotes, backslashes, commas, braces, NULL in any case, empty and bare strings arrive unchanged", async () => {
		const values = ['a"b', "c\\d", "x,y", "{}", "NULL", "", " spaced ", "urn:x:1"];
		// Written without quotes (letters, digits and _.:+- only), or quoted when four characters
		// long, as NULL is in any case.
		const bare = [
			"null",
			"Null",
			"nUlL",
			"abcd",
			"2026-12-07T00:58:00.000Z",
			"a.b:c+d-e_f",
			"-1.5e-7"
		];
		const others = ["é", "ü_x", "tab\there", "line\nbreak", "NULLX", "xNULL"];
		values.push(...bare, ...others);
		const rows = await pg
			.server()
			.sql.unsafe<{ a: string[] }[]>("SELECT $1::text[] AS a", [arrayLiteral(values)]);
		expect(rows[0].a).toEqual(values);
		const empty = await pg
			.server()
			.sql.unsafe<{ n: number }[]>("SELECT cardinality($1::text[]) AS n", [arrayLiteral([])]);
		expect(empty[0].n).toBe(0);
	});

	test("numbers, booleans and missing values arrive as their own types and NULL", async () => {
		const rows = await pg.server().sql.unsafe<{ f: boolean; b: boolean; t: boolean }[]>(
			`SELECT $1::float8[] IS NOT DISTINCT FROM ARRAY[0, -1.5e-7, 9007199254740991, NULL]::float8[] AS f,
				$2::boolean[] IS NOT DISTINCT FROM ARRAY[true, false, NULL]::boolean[] AS b,
				$3::text[] IS NOT DISTINCT FROM ARRAY['x', NULL, NULL]::text[] AS t`,
			[
				arrayLiteral([0, -1.5e-7, 9007199254740991, undefined]),
				arrayLiteral([true, false, null]),
				arrayLiteral(["x", undefined, null])
			]
		);
		expect(rows[0]).toEqual({ f: true, b: true, t: true });
	});
});

describe("a statement is reported done only once committed", () => {
	test("a create whose commit fails rejects and stores nothing", async () => {
		const { source } = await pg.open();
		const sql = pg.server().sql;
		const table = `"${pg.table()}"`;
		// A deferred constraint trigger fails at commit, after the INSERT itself completed: what a
		// fast shutdown between the statement and its commit does. postgres.js 3.4.7 resolved a
		// statement at CommandComplete, before the commit (porsager/postgres#1090), so such a
		// create returned the id of a task that was never stored.
		await sql.unsafe(`CREATE OR REPLACE FUNCTION "${pg.table()}_fail_commit"() RETURNS trigger
			LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused'; END $$`);
		await sql.unsafe(`CREATE CONSTRAINT TRIGGER "fail_commit" AFTER INSERT ON ${table}
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
			WHEN (NEW."payload" ->> 'failCommit' = 'yes')
			EXECUTE FUNCTION "${pg.table()}_fail_commit"()`);
		try {
			const refused = newTask({ payload: { failCommit: "yes" } });
			await expect(source.insert(refused)).rejects.toThrow(/commit refused/);
			const accepted = newTask({ payload: { failCommit: "no" } });
			expect(await source.insert(accepted)).toBe(accepted.id);
			const rows = await sql.unsafe<{ id: string }[]>(`SELECT "id" FROM ${table}`);
			expect(rows.map(r => r.id)).toEqual([accepted.id]);
		} finally {
			await sql.unsafe(`DROP TRIGGER IF EXISTS "fail_commit" ON ${table}`);
			await sql.unsafe(`DROP FUNCTION IF EXISTS "${pg.table()}_fail_commit"()`);
		}
	});
});
