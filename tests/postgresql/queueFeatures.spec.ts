// The queue features on the native PostgreSQL backend (PostgresTaskSource against a real server,
// its methods called directly): the queue options' columns (round trip, added to older tables),
// claims by priority (the claim index read in order, no sort), attempts counted by the claim
// statements, deduplication across sources in one statement, insertMany and retryFailed in one
// statement each, counts, and the rate-limit counter shared by every source.
import { TaskStatus } from "@twin.org/background-task-models";
import { SortDirection } from "@twin.org/entity";
import { PostgreSqlEntityStorageConnector } from "@twin.org/entity-storage-connector-postgresql";
import type postgres from "postgres";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { BackgroundTask } from "../../src/domain/backgroundTask.js";
import { initSchema } from "../../src/schema.js";
import type { QueuedTask } from "../../src/contracts/ITaskSource.js";
import { removeOnSettle } from "../../src/domain/retention.js";
import { retriedNow, settled } from "../../src/domain/rules.js";
import { StorageAdapter } from "../../src/store/entityStorage/storageAdapter.js";
import { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import type { PostgresTaskSource } from "../../src/store/postgresql/postgresTaskSource.js";
import { waitFor } from "../helpers/harness.js";
import { at, newTask, plansOf, useSources } from "./helpers.js";

initSchema();
const pg = useSources();

/**
 * TWIN's connectors made by a test: it has no close, so their pools are ended after the test.
 */
const twinConnectors: PostgreSqlEntityStorageConnector<BackgroundTask>[] = [];

afterEach(async () => {
	for (const connector of twinConnectors.splice(0)) {
		const pool = (connector as unknown as { _connection?: { end(o: object): Promise<void> } })
			._connection;
		await pool?.end({ timeout: 1 });
	}
});

/**
 * TWIN's connector on the test table.
 * @returns The connector.
 */
function twinConnector(): PostgreSqlEntityStorageConnector<BackgroundTask> {
	const server = pg.server();
	const connector = new PostgreSqlEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: {
			host: server.host,
			port: server.port,
			user: server.user,
			password: "trust",
			database: server.database,
			tableName: pg.table()
		}
	});
	twinConnectors.push(connector);
	return connector;
}

/**
 * The admin client.
 * @returns The client.
 */
function admin(): postgres.Sql {
	return pg.server().sql;
}

/**
 * The columns of the test table with their types.
 * @returns Column to data type.
 */
async function columnTypes(): Promise<{ [column: string]: string }> {
	const rows = await admin().unsafe(
		`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1`,
		[pg.table()]
	);
	return Object.fromEntries(rows.map(r => [r.column_name, r.data_type]));
}

/**
 * The index names of the test table.
 * @returns The names.
 */
async function indexNames(): Promise<string[]> {
	const rows = await admin().unsafe(`SELECT indexname FROM pg_indexes WHERE tablename = $1`, [
		pg.table()
	]);
	return rows.map(r => r.indexname as string).sort();
}

/**
 * The pool a source reads and writes with.
 * @param source The source.
 * @returns The pool.
 */
async function poolOf(source: PostgresTaskSource): Promise<postgres.Sql> {
	const pools = (
		source as unknown as { _parts: { pools: { db(): Promise<{ first: postgres.Sql }> } } }
	)._parts.pools;
	return (await pools.db()).first;
}

/**
 * Settle a claimed task as a success (removed when its retainFor is 0).
 * @param source The source.
 * @param task The claimed task.
 * @returns Whether it was written.
 */
async function succeed(source: PostgresTaskSource, task: BackgroundTask): Promise<boolean> {
	const done = settled(task, { ok: true }, Date.now(), 1000);
	return source.settle(done, removeOnSettle(done));
}

/**
 * The table of the native backend as versions before the queue options made it: the entity's
 * sixteen columns, the lease columns and the claim index by due date.
 */
const PRE_QUEUE_NATIVE_TABLE = (t: string): string => `CREATE TABLE "${t}" (
	"id" TEXT NOT NULL PRIMARY KEY, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL,
	"retryInterval" DOUBLE PRECISION NULL, "retriesRemaining" DOUBLE PRECISION NULL,
	"dateCreated" TEXT NOT NULL, "dateModified" TEXT NOT NULL, "dateNextProcess" TEXT NULL,
	"dateCancelled" TEXT NULL, "dateCompleted" TEXT NULL, "retainFor" DOUBLE PRECISION NULL,
	"retainUntil" BIGINT NULL, "status" TEXT NOT NULL, "payload" JSONB NULL, "result" JSONB NULL,
	"error" JSONB NULL, "leaseOwner" TEXT NULL, "leaseExpires" BIGINT NULL
);
CREATE INDEX "${t}_thread_due" ON "${t}" ("threadId", "dateNextProcess", "id");
CREATE INDEX "${t}_retain" ON "${t}" ("retainUntil");
CREATE INDEX "${t}_claim" ON "${t}" ("type", "threadId", "dateNextProcess", "dateCreated", "id");`;

/**
 * The table TWIN's connector bootstrap made from the entity before the queue options: its
 * sixteen columns with the bootstrap's types (INTEGER retainUntil, REAL numbers).
 */
const PRE_QUEUE_BOOTSTRAP_TABLE = (t: string): string => `CREATE TABLE "${t}" (
	"id" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL, "retryInterval" REAL NULL,
	"retriesRemaining" REAL NULL, "dateCreated" TEXT NOT NULL, "dateModified" TEXT NOT NULL,
	"dateNextProcess" TEXT NULL, "dateCancelled" TEXT NULL, "dateCompleted" TEXT NULL,
	"retainFor" REAL NULL, "retainUntil" INTEGER NULL, "status" TEXT NOT NULL, "payload" JSONB NULL,
	"result" JSONB NULL, "error" JSONB NULL, PRIMARY KEY (id)
)`;

describe("the queue options' columns", () => {
	test("round-trip as numbers and strings, and are absent when unset", async () => {
		const { source } = await pg.open();
		const withAll = newTask({
			priority: -7,
			dedupKey: "key-1",
			retryBackoff: "exponential",
			retryMaxInterval: 12345.5,
			attempts: 0,
			retainFor: -1
		});
		const without = newTask({ retainFor: -1 });
		await source.insert(withAll);
		await source.insert(without);
		expect(await source.get(withAll.id)).toEqual(withAll);
		const plain = await source.get(without.id);
		expect(plain).toEqual(without);
		for (const key of ["priority", "dedupKey", "retryBackoff", "retryMaxInterval", "attempts"]) {
			expect(Object.keys(plain!)).not.toContain(key);
		}
		const [row] = await admin().unsafe(`SELECT * FROM "${pg.table()}" WHERE "id" = $1`, [
			without.id
		]);
		expect([
			row.priority,
			row.dedupKey,
			row.retryBackoff,
			row.retryMaxInterval,
			row.attempts
		]).toEqual([null, null, null, null, null]);

		// query() reads them too, and sorts by them.
		const page = await source.query({
			sortProperty: "priority",
			sortDirection: SortDirection.Descending,
			pageSize: 10
		});
		expect(page.entities.map(t => t.id)).toEqual([without.id, withAll.id]);
		expect(page.entities[1]).toEqual(withAll);
	});

	test("a table made before them gets them, the claim index by priority, the dedup index and the rate table at open; old rows read fine", async () => {
		const t = pg.table();
		await admin().unsafe(PRE_QUEUE_NATIVE_TABLE(t));
		const old = newTask({ retainFor: -1, payload: "kept", dateNextProcess: at(0) });
		await admin().unsafe(
			`INSERT INTO "${t}" ("id", "type", "threadId", "dateCreated", "dateModified", "dateNextProcess", "status", "retainFor", "payload")
			VALUES ($1, $2, 'main', $3, $4, $5, 'pending', -1, '"\\"kept\\""'::jsonb)`,
			[old.id, old.type, old.dateCreated, old.dateModified, old.dateNextProcess!]
		);
		const first = await pg.open();
		expect(first.entries.map(e => [e.level, e.message])).toEqual([["warn", "tableUpgraded"]]);
		const changes = String(first.entries[0].data?.changes);
		for (const column of ["priority", "dedupKey", "retryBackoff", "retryMaxInterval", "attempts"]) {
			expect(changes).toContain(`${column}: added`);
		}
		expect(changes).toContain(`${t}_claim: replaced by the claim index by priority`);
		expect(await columnTypes()).toMatchObject({
			priority: "integer",
			dedupKey: "text",
			retryBackoff: "text",
			retryMaxInterval: "double precision",
			attempts: "integer"
		});
		expect(await indexNames()).toEqual([`${t}_pkey`, ...PostgresStatements.indexNames(t)].sort());
		const rate = await admin().unsafe(`SELECT to_regclass($1) AS r`, [`"${t}_rate"`]);
		expect(rate[0].r).not.toBeNull();
		const serial = await admin().unsafe(`SELECT to_regclass($1) AS r`, [`"${t}_serial"`]);
		expect(serial[0].r).not.toBeNull();

		expect(await first.source.get(old.id)).toEqual(old);
		const { tasks } = await first.source.fetch(old.type, "main", 10, 0);
		expect(tasks.map(x => x.id)).toEqual([old.id]);
		const claimed = (await first.source.claim(old.id, "main", 0)).claimed!;
		expect(claimed.attempts).toBeUndefined();
		expect(await succeed(first.source, claimed)).toBe(true);
		expect((await first.source.get(old.id))?.status).toBe(TaskStatus.Success);

		// A second node opening finds it ready: nothing changed, nothing logged.
		const second = await pg.open();
		expect(second.entries).toEqual([]);
	});

	test("a table with the claim index of 0.3 (every row) gets the claim index of active tasks at open; its tasks are claimed", async () => {
		const t = pg.table();
		const made = await pg.open();
		const task = newTask();
		await made.source.insert(task);
		await made.source.close();
		await admin().unsafe(`DROP INDEX "${t}_claim_due"`);
		await admin().unsafe(
			`CREATE INDEX "${t}_claim_priority" ON "${t}" ("type", "threadId", (COALESCE("priority", 0)) DESC, "dateNextProcess", "dateCreated", "id")`
		);

		const upgraded = await pg.open();
		expect(upgraded.entries.map(e => [e.level, e.message])).toEqual([["warn", "tableUpgraded"]]);
		expect(String(upgraded.entries[0].data?.changes)).toBe(
			`${t}_claim_priority: replaced by the claim index of active tasks only`
		);
		expect(await indexNames()).toEqual([`${t}_pkey`, ...PostgresStatements.indexNames(t)].sort());
		const { tasks } = await upgraded.source.fetch(task.type, "main", 10, 0);
		expect(tasks.map(x => x.id)).toEqual([task.id]);
	});

	test("a table made by TWIN's connector bootstrap works, before the queue options and with them", async () => {
		// Made by the bootstrap before the queue options existed.
		await admin().unsafe(PRE_QUEUE_BOOTSTRAP_TABLE(pg.table()));
		const twin = new StorageAdapter(twinConnector());
		const before = newTask({ retainFor: -1, payload: "old" });
		await twin.set(before);
		const opened = await pg.open();
		expect(String(opened.entries[0].data?.changes)).toContain("priority: added");
		expect(await opened.source.get(before.id)).toEqual(before);
		const natively = newTask({ retainFor: -1, priority: 3, attempts: 1, retryMaxInterval: 0.25 });
		await opened.source.insert(natively);
		expect(await twin.get(natively.id)).toEqual(natively);
		await opened.source.close();

		// Made by today's bootstrap (the entity with the queue options: retryMaxInterval REAL).
		await admin().unsafe(`DROP TABLE "${pg.table()}"`);
		expect(await twinConnector().bootstrap()).toBe(true);
		expect(await columnTypes()).toMatchObject({
			priority: "integer",
			retryMaxInterval: "real",
			attempts: "integer"
		});
		const reopened = await pg.open();
		expect(String(reopened.entries[0].data?.changes)).toContain(
			"retryMaxInterval: real -> double precision"
		);
		const through = newTask({ retainFor: -1, priority: 9, dedupKey: "k", retryMaxInterval: 0.1 });
		await new StorageAdapter(twinConnector()).set(through);
		expect(await reopened.source.get(through.id)).toEqual(through);
		// The dedup index holds for rows written through TWIN's connector as well.
		const dup = newTask({ retainFor: -1, dedupKey: "k" });
		expect(await reopened.source.insert(dup)).toBe(through.id);
	});
});

describe("priority", () => {
	test("fetch claims the highest priority first (absent is 0), then earliest due; not-due tasks wait", async () => {
		const { source } = await pg.open();
		const t = {
			lowEarly: newTask({ priority: -1, dateNextProcess: at(0) }),
			noneLate: newTask({ dateNextProcess: at(2) }),
			zeroEarly: newTask({ priority: 0, dateNextProcess: at(1) }),
			highLate: newTask({ priority: 5, dateNextProcess: at(3) }),
			highEarly: newTask({ priority: 5, dateNextProcess: at(2) }),
			topFuture: newTask({
				priority: 100,
				dateNextProcess: new Date(Date.now() + 60_000).toISOString()
			}),
			mid: newTask({ priority: 2, dateNextProcess: at(9) })
		};
		for (const task of Object.values(t)) {
			await source.insert(task);
		}
		const first = await source.fetch("native", "main", 2, 0);
		expect(first.tasks.map(x => x.id)).toEqual([t.highEarly.id, t.highLate.id]);
		expect(first.tasks.map(x => x.priority)).toEqual([5, 5]);
		const rest = await source.fetch("native", "main", 10, 0);
		expect(rest.tasks.map(x => x.id)).toEqual([
			t.mid.id,
			t.zeroEarly.id,
			t.noneLate.id,
			t.lowEarly.id
		]);
		expect(rest.complete).toBe(true);
		expect((await source.get(t.topFuture.id))?.status).toBe(TaskStatus.Pending);
	});

	test("serial: fetch takes the highest priority earliest due; claim refuses a task with a claimable one before it", async () => {
		const { source } = await pg.open();
		const low = newTask({ type: "serial", dateNextProcess: at(0) });
		const highLate = newTask({ type: "serial", priority: 3, dateNextProcess: at(5) });
		const highEarly = newTask({ type: "serial", priority: 3, dateNextProcess: at(4) });
		for (const task of [low, highLate, highEarly]) {
			await source.insert(task);
		}
		// claim of tasks not first in claim order: refused while an earlier one is claimable.
		expect(await source.claim(low.id, "main", 0, true)).toEqual({});
		expect(await source.claim(highLate.id, "main", 0, true)).toEqual({});
		const order: string[] = [];
		for (let i = 0; i < 3; i++) {
			const { tasks } = await source.fetch("serial", "main", 10, 0, true);
			expect(tasks.length).toBe(1);
			order.push(tasks[0].id);
			// While it runs, no other task of the type is claimed.
			expect((await source.fetch("serial", "main", 10, 0, true)).tasks).toEqual([]);
			const claimed = (await source.claim(tasks[0].id, "main", 0, true)).claimed!;
			expect(await succeed(source, claimed)).toBe(true);
		}
		expect(order).toEqual([highEarly.id, highLate.id, low.id]);

		// claim of the first in claim order succeeds.
		const a = newTask({ type: "serial", priority: 1, dateNextProcess: at(9) });
		const b = newTask({ type: "serial", dateNextProcess: at(0) });
		await source.insert(a);
		await source.insert(b);
		expect(await source.claim(b.id, "main", 0, true)).toEqual({});
		expect((await source.claim(a.id, "main", 0, true)).claimed?.id).toBe(a.id);
	});

	test("the claim of a 50,000-task backlog reads the claim index in order, without a sort", async () => {
		const { source } = await pg.open();
		const tasks = Array.from({ length: 50_000 }, (_, i) =>
			newTask({
				dateNextProcess: at(i % 1000),
				priority: i % 7 === 0 ? (i % 3) - 1 : undefined,
				retainFor: 0
			})
		);
		await source.insertMany(tasks);
		await admin().unsafe(`ANALYZE "${pg.table()}"`);
		const statements = new PostgresStatements(pg.table());
		const now = new Date().toISOString();
		const plan = await admin().unsafe(`EXPLAIN (FORMAT JSON) ${statements.fetch}`, [
			"native",
			"main",
			100,
			now,
			"owner",
			30000
		]);
		const text = JSON.stringify(plan);
		expect(text).toContain(`"Index Name":"${pg.table()}_claim_due"`);
		expect(text).not.toContain(`"Node Type":"Sort"`);
		expect(text).not.toContain(`"Node Type":"Incremental Sort"`);
		// No index of the backend names a column a claim changes, so a claim can be a HOT update.
		const defs = await admin().unsafe(`SELECT indexdef FROM pg_indexes WHERE tablename = $1`, [
			pg.table()
		]);
		for (const { indexdef } of defs) {
			for (const column of ["status", "dateModified", "leaseOwner", "leaseExpires", "attempts"]) {
				expect(indexdef).not.toContain(column);
			}
		}
		// And it claims in that order.
		const { tasks: claimed } = await source.fetch("native", "main", 100, 0);
		const expected = [...tasks]
			.sort(
				(a, b) =>
					(b.priority ?? 0) - (a.priority ?? 0) ||
					a.dateNextProcess!.localeCompare(b.dateNextProcess!) ||
					a.dateCreated.localeCompare(b.dateCreated) ||
					(a.id < b.id ? -1 : 1)
			)
			.slice(0, 100);
		expect(claimed.map(x => x.id)).toEqual(expected.map(x => x.id));

		// The rows a claim or the heartbeat locks are updated where they are (a Tid Scan of the
		// addresses the locking subquery returned), never found by a scan of the table, in the plan
		// a statement gets with its parameters known and in the generic plan a prepared statement
		// may switch to. (Joined to the locking subquery, the claim of 500 got a hash join over a
		// sequential scan of this table once it was analyzed.)
		const ids = `ARRAY[${tasks
			.slice(0, 500)
			.map(x => `'${x.id}'`)
			.join(", ")}]::text[]`;
		const checked: [text: string, types: string, args: string][] = [
			[
				statements.fetch,
				"text, text, integer, text, text, bigint",
				`'native', 'main', 500, '${now}', 'owner', 30000`
			],
			[statements.heartbeat, "text[], text, bigint", `${ids}, 'owner', 30000`]
		];
		for (const [text, types, args] of checked) {
			for (const planText of await plansOf(admin(), text, types, args)) {
				expect(planText).toContain(`"Node Type":"Tid Scan"`);
				expect(planText).not.toContain(`"Node Type":"Seq Scan"`);
				expect(planText).not.toContain(`"Node Type":"Hash Join"`);
			}
		}
	}, 60000);
});

describe("claims racing this source's own fetch", () => {
	test("a claim of a task that a fetch in flight takes gets it from the fetch", async () => {
		// A delayed task comes due: the scheduler's timer claims it while a poll's fetch claims it
		// too. Whichever statement takes the row, the claim hands the task out.
		const { source } = await pg.open();
		for (let i = 0; i < 30; i++) {
			const task = newTask({ type: `race-${i}` });
			await source.insert(task);
			const [, claim] = await Promise.all([
				source.fetch(task.type, "main", 10, 0),
				source.claim(task.id, "main", 0)
			]);
			expect(claim.claimed?.id, `round ${i}`).toBe(task.id);
			// Handed out once: running here now.
			expect(await source.claim(task.id, "main", 0)).toEqual({});
		}
	});
});

describe("attempts", () => {
	test("every claim statement counts an attempt of a task that records them; giving back uncounts", async () => {
		const { source } = await pg.open();
		const rowAttempts = async (id: string): Promise<number | null> => {
			const [row] = await admin().unsafe(`SELECT "attempts" FROM "${pg.table()}" WHERE "id" = $1`, [
				id
			]);
			return row.attempts as number | null;
		};
		const fetched = newTask({ attempts: 0, retriesRemaining: 1, retainFor: -1 });
		const direct = newTask({ type: "direct", attempts: 4, retainFor: -1 });
		const untracked = newTask({ type: "untracked", retainFor: -1 });
		const serial = newTask({ type: "serial", attempts: 0, retainFor: -1 });
		const serialDirect = newTask({ type: "serial2", attempts: 1, retainFor: -1 });
		for (const task of [fetched, direct, untracked, serial, serialDirect]) {
			await source.insert(task);
		}

		// fetch, then claim of the fetched task (no SQL): one attempt.
		const [queued] = (await source.fetch("native", "main", 10, 0)).tasks;
		expect(queued.id).toBe(fetched.id);
		expect(await rowAttempts(fetched.id)).toBe(1);
		const first = (await source.claim(fetched.id, "main", 0)).claimed!;
		expect(first.attempts).toBe(1);
		// A failed attempt with retries left: pending again, attempts kept by the settle.
		const failed = settled(
			first,
			{ ok: false, error: { name: "E", message: "x" } },
			Date.now() - 5000,
			1
		);
		expect(failed.status).toBe(TaskStatus.Pending);
		expect(await source.settle(failed, false)).toBe(true);
		expect(await rowAttempts(fetched.id)).toBe(1);
		const second = (await source.claim(fetched.id, "main", 0)).claimed!;
		expect(second.attempts).toBe(2);
		expect(await rowAttempts(fetched.id)).toBe(2);

		// claim of a task not fetched.
		expect((await source.claim(direct.id, "main", 0)).claimed?.attempts).toBe(5);
		expect(await rowAttempts(direct.id)).toBe(5);
		// A task that does not record attempts stays without.
		expect((await source.claim(untracked.id, "main", 0)).claimed?.attempts).toBeUndefined();
		expect(await rowAttempts(untracked.id)).toBeNull();
		// Serial fetch and serial claim.
		const [s] = (await source.fetch("serial", "main", 10, 0, true)).tasks;
		expect(s.id).toBe(serial.id);
		expect((await source.claim(serial.id, "main", 0, true)).claimed?.attempts).toBe(1);
		expect((await source.claim(serialDirect.id, "main", 0, true)).claimed?.attempts).toBe(2);

		// Fetched and given back unstarted: the attempt never happened.
		const back = newTask({ type: "back", attempts: 2 });
		await source.insert(back);
		await source.fetch("back", "main", 10, 0);
		expect(await rowAttempts(back.id)).toBe(3);
		await source.unclaim([back.id]);
		expect(await rowAttempts(back.id)).toBe(2);
		expect((await source.get(back.id))?.status).toBe(TaskStatus.Pending);
	});
});

describe("deduplication", () => {
	test("the same type and key returns the active task's id while pending or processing, a new one once final", async () => {
		const { source } = await pg.open();
		const other = await pg.open();
		const first = newTask({ dedupKey: "k", retainFor: -1 });
		expect(await source.insert(first)).toBe(first.id);
		await waitFor(() => other.woken.length === 1, 5000);

		// Pending: the same id, nothing stored, nobody woken.
		expect(await source.insert(newTask({ dedupKey: "k" }))).toBe(first.id);
		// Another key, or another type with the same key: new tasks.
		const otherKey = newTask({ dedupKey: "k2" });
		expect(await source.insert(otherKey)).toBe(otherKey.id);
		const otherType = newTask({ type: "else", dedupKey: "k" });
		expect(await source.insert(otherType)).toBe(otherType.id);
		await waitFor(() => other.woken.length === 3, 5000);

		// Processing: the same id; the no-op leaves the claim's fence alone, so its settle writes.
		const claimed = (await source.claim(first.id, "main", 0)).claimed!;
		const [before] = await admin().unsafe(`SELECT * FROM "${pg.table()}" WHERE "id" = $1`, [
			first.id
		]);
		expect(await source.insert(newTask({ dedupKey: "k" }))).toBe(first.id);
		const [after] = await admin().unsafe(`SELECT * FROM "${pg.table()}" WHERE "id" = $1`, [
			first.id
		]);
		expect(after).toEqual(before);
		expect(await succeed(source, claimed)).toBe(true);

		// Final: the key is free again.
		const next = newTask({ dedupKey: "k", retainFor: -1 });
		expect(await source.insert(next)).toBe(next.id);
		// Cancelled frees it too.
		expect((await source.cancel(next.id, Date.now()))?.status).toBe(TaskStatus.Cancelled);
		const third = newTask({ dedupKey: "k" });
		expect(await source.insert(third)).toBe(third.id);
		await waitFor(
			() => other.woken.filter(type => type === "native").length >= 4,
			5000,
			"the other source's wake-ups"
		);
		expect(other.woken.filter(type => type === "native").length).toBe(4);

		const [{ count }] = await admin().unsafe(
			`SELECT count(*)::int AS count FROM "${pg.table()}" WHERE "dedupKey" = 'k' AND "type" = 'native'`
		);
		expect(count).toBe(3);
	});

	test("retry() of a failed task whose key an active task holds changes nothing", async () => {
		const { source } = await pg.open();
		const failed = newTask({
			dedupKey: "r",
			retainFor: -1,
			status: TaskStatus.Failed,
			dateNextProcess: undefined
		});
		await source.insert(failed);
		const active = newTask({ dedupKey: "r" });
		expect(await source.insert(active)).toBe(active.id);
		expect(await source.retry(failed.id, Date.now())).toBeUndefined();
		expect((await source.get(failed.id))?.status).toBe(TaskStatus.Failed);
		await source.remove(active.id);
		expect((await source.retry(failed.id, Date.now()))?.status).toBe(TaskStatus.Pending);
	});

	test("two sources racing 50 creates each on one key store exactly one task", async () => {
		const a = await pg.open();
		const b = await pg.open();
		for (let round = 0; round < 5; round++) {
			const key = `race-${round}`;
			const attempts = Array.from({ length: 100 }, (_, i) =>
				(i % 2 === 0 ? a : b).source.insert(newTask({ dedupKey: key }))
			);
			const ids = await Promise.all(attempts);
			const rows = await admin().unsafe(`SELECT "id" FROM "${pg.table()}" WHERE "dedupKey" = $1`, [
				key
			]);
			expect(rows.length).toBe(1);
			expect(new Set(ids)).toEqual(new Set([rows[0].id]));
		}
	});

	test("a conflicting task committed while the create runs is returned (the upsert path)", async () => {
		const { source } = await pg.open();
		const theirs = newTask({ dedupKey: "late" });
		let release: () => void = () => {};
		const released = new Promise<void>(resolve => {
			release = resolve;
		});
		// Another node's insert of the same key, not yet committed.
		let inserted!: () => void;
		const insertedRow = new Promise<void>(resolve => {
			inserted = resolve;
		});
		const holder = admin().begin(async tx => {
			await tx.unsafe(
				`INSERT INTO "${pg.table()}" ("id", "type", "threadId", "dateCreated", "dateModified", "dateNextProcess", "status", "dedupKey")
				VALUES ($1, 'native', 'main', $2, $2, $2, 'pending', 'late')`,
				[theirs.id, theirs.dateCreated]
			);
			inserted();
			await released;
		});
		await insertedRow;
		const pool = await poolOf(source);
		const spy = vi.spyOn(pool, "unsafe");
		// Waits on the uncommitted row; once it commits, the first statement's snapshot does not
		// see it.
		const mine = source.insert(newTask({ dedupKey: "late" }));
		await waitFor(
			async () => {
				const [{ waiting }] = await admin().unsafe(
					`SELECT count(*)::int AS waiting FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`
				);
				return waiting > 0;
			},
			5000,
			"the insert to wait on the uncommitted row"
		);
		release();
		await holder;
		expect(await mine).toBe(theirs.id);
		expect(spy).toHaveBeenCalledTimes(2);
		spy.mockRestore();
		const rows = await admin().unsafe(`SELECT "id" FROM "${pg.table()}" WHERE "dedupKey" = 'late'`);
		expect(rows.map(r => r.id)).toEqual([theirs.id]);
	});
});

describe("retryFailed", () => {
	test("one statement puts failed tasks back as retry() does, oldest failure first, by type and limit; other sources woken per type", async () => {
		const { source, woken } = await pg.open();
		const other = await pg.open();
		const failed = (type: string, modified: number, extra: Partial<BackgroundTask> = {}) => {
			const task = newTask({
				type,
				status: TaskStatus.Failed,
				dateNextProcess: undefined,
				dateModified: at(modified),
				dateCompleted: at(modified),
				retainUntil: Date.parse(at(modified)) + 7000,
				error: { name: "E", message: "m" },
				...extra
			});
			if (extra.retainFor === undefined) {
				delete task.retainFor;
			}
			return task;
		};
		const a = [failed("a", 3000), failed("a", 1000), failed("a", 2000)];
		// As the dead-letter stores it: its own retainFor kept beside the dead-letter's retainUntil.
		const b = failed("b", 0, { retainFor: 0, retainUntil: -1 });
		const untouched = [
			newTask({ type: "a", dateNextProcess: new Date(Date.now() + 60_000).toISOString() }),
			newTask({ type: "a", status: TaskStatus.Success, dateNextProcess: undefined }),
			newTask({ type: "a", status: TaskStatus.Cancelled, dateNextProcess: undefined })
		];
		for (const task of [...a, b, ...untouched]) {
			await source.insert(task);
		}
		await waitFor(() => other.woken.length >= 7, 5000, "the inserts' wake-ups");
		other.woken.length = 0;
		const now = Date.now();
		const expectRetried = async (tasks: BackgroundTask[], returned: QueuedTask[]) => {
			expect(new Set(returned.map(t => t.id))).toEqual(new Set(tasks.map(t => t.id)));
			for (const task of tasks) {
				const expected = retriedNow(task, now) as BackgroundTask;
				expect(await source.get(task.id)).toEqual(expected);
				expect(returned.find(t => t.id === task.id)).toEqual({
					id: task.id,
					type: task.type,
					threadId: task.threadId,
					status: TaskStatus.Pending,
					dateNextProcess: expected.dateNextProcess,
					dateCreated: task.dateCreated,
					dateModified: expected.dateModified
				});
			}
		};

		const pool = await poolOf(source);
		const spy = vi.spyOn(pool, "unsafe");
		const first = await source.retryFailed("a", 2, now);
		expect(spy).toHaveBeenCalledTimes(1);
		spy.mockRestore();
		await expectRetried([a[1], a[2]], first);
		expect((await source.get(a[1].id))?.retainFor).toBe(7000);
		await waitFor(() => other.woken.length >= 1, 2000, "a wake-up for type a");

		const rest = await source.retryFailed(undefined, undefined, now);
		await expectRetried([a[0], b], rest);
		expect((await source.get(b.id))?.retainFor).toBe(0);
		for (const task of untouched) {
			expect(await source.get(task.id)).toEqual(task);
		}
		expect(await source.retryFailed(undefined, undefined, now)).toEqual([]);
		await waitFor(() => other.woken.length >= 3, 2000, "wake-ups for types a and b");
		expect([...other.woken].sort()).toEqual(["a", "a", "b"]);
		// The sender's own scheduler is told directly, not through its notifications.
		expect(woken).toEqual([]);
	});
});

describe("insertMany", () => {
	test("5,000 tasks in one statement, rows as insert() writes them, one wake per type", async () => {
		const { source } = await pg.open();
		const other = await pg.open();
		const payloads: unknown[] = [
			"hello",
			"42",
			"",
			true,
			false,
			0,
			7.5,
			null,
			[1, "a"],
			{ a: { b: [1] } },
			"ü ✓"
		];
		const variants: Partial<BackgroundTask>[] = [
			{},
			{ priority: 3, retryBackoff: "exponential", retryMaxInterval: 60000.5, attempts: 0 },
			{ retryInterval: 1500, retriesRemaining: 2, retainFor: -1 },
			{
				type: "second",
				retainUntil: Date.now() + 1e9,
				status: TaskStatus.Success,
				dateNextProcess: undefined,
				result: "done"
			}
		];
		const model = (i: number): BackgroundTask => {
			const task = newTask({
				...variants[i % variants.length],
				payload: payloads[i % payloads.length]
			});
			if (task.payload === null) {
				delete task.payload;
			}
			return task;
		};
		const singles = Array.from({ length: 44 }, (_, i) => model(i));
		for (const task of singles) {
			await source.insert(task);
		}
		const twins = singles.map(task => ({ ...task, id: newTask().id }));
		const bulk = Array.from({ length: 5000 - twins.length }, (_, i) => model(i));
		const all = [...twins, ...bulk];
		await waitFor(() => other.woken.length >= singles.length, 5000);
		other.woken.length = 0;

		const pool = await poolOf(source);
		const spy = vi.spyOn(pool, "unsafe");
		const started = performance.now();
		await source.insertMany(all);
		const elapsed = performance.now() - started;
		expect(spy).toHaveBeenCalledTimes(1);
		spy.mockRestore();
		console.log(`insertMany of 5,000: ${elapsed.toFixed(1)} ms`);

		const [{ count }] = await admin().unsafe(`SELECT count(*)::int AS count FROM "${pg.table()}"`);
		expect(count).toBe(5000 + singles.length);
		// The same rows as insert() writes, column by column (JSON as stored text), but the id.
		const read = async (ids: string[]): Promise<{ [column: string]: unknown }[]> => {
			const rows = await admin().unsafe(
				`SELECT *, "payload"::text AS "payloadText", "result"::text AS "resultText" FROM "${pg.table()}" WHERE "id" = ANY($1::text[])`,
				[ids]
			);
			const byId = new Map(rows.map(({ id, ...rest }) => [id as string, rest]));
			return ids.map(id => byId.get(id)!);
		};
		const written = await read(twins.map(t => t.id));
		expect(written).toEqual(await read(singles.map(t => t.id)));
		expect(written.map(r => r.payloadText).slice(0, 4)).toEqual([
			'"\\"hello\\""',
			'"\\"42\\""',
			'"\\"\\""',
			'"true"'
		]);
		for (const task of all.slice(0, 200)) {
			expect(await source.get(task.id)).toEqual(task);
		}
		// One wake per type for the other source.
		await waitFor(() => other.woken.length >= 2, 5000);
		expect([...other.woken].sort()).toEqual(["native", "second"]);
	});

	test("a batch above one statement's chunk is stored whole, in one transaction", async () => {
		const { source } = await pg.open();
		const tasks = Array.from({ length: 12_000 }, () => newTask());
		await source.insertMany(tasks);
		const [{ count }] = await admin().unsafe(`SELECT count(*)::int AS count FROM "${pg.table()}"`);
		expect(count).toBe(12_000);

		// A failing batch (a duplicate id in its second chunk) stores nothing.
		const failing = Array.from({ length: 12_000 }, () => newTask({ type: "failing" }));
		failing[11_000] = { ...failing[11_000], id: tasks[0].id };
		await expect(source.insertMany(failing)).rejects.toThrow();
		const [{ left }] = await admin().unsafe(
			`SELECT count(*)::int AS left FROM "${pg.table()}" WHERE "type" = 'failing'`
		);
		expect(left).toBe(0);
		await source.insertMany([]);
	}, 60000);
});

describe("counts", () => {
	test("per type and status, in one grouped query; for one type", async () => {
		const { source } = await pg.open();
		await source.insertMany([
			newTask(),
			newTask(),
			newTask({ status: TaskStatus.Failed, dateNextProcess: undefined }),
			newTask({ type: "b", status: TaskStatus.Success, dateNextProcess: undefined }),
			newTask({ type: "b" })
		]);
		expect(await source.counts(undefined, 10)).toEqual({
			counts: { native: { pending: 2, failed: 1 }, b: { success: 1, pending: 1 } },
			complete: true
		});
		expect(await source.counts("b", 10)).toEqual({
			counts: { b: { success: 1, pending: 1 } },
			complete: true
		});
		expect(await source.counts("none", 10)).toEqual({ counts: {}, complete: true });
	});
});

describe("takeStart", () => {
	/**
	 * The database's clock, epoch ms.
	 * @returns The time.
	 */
	async function dbNow(): Promise<number> {
		const [row] = await admin().unsafe(
			`SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint AS ms`
		);
		return Number(row.ms);
	}

	/**
	 * Wait until the database's clock is just past the start of a window.
	 * @param per The window, ms.
	 */
	async function windowStart(per: number): Promise<void> {
		const now = await dbNow();
		await new Promise(resolve => setTimeout(resolve, per - (now % per) + 30));
	}

	test("max 3 per 1000 ms across two sources: exactly 3 granted in a window, then a wait to its end", async () => {
		const a = await pg.open();
		const b = await pg.open();
		await windowStart(1000);
		const results = await Promise.all(
			Array.from({ length: 12 }, (_, i) =>
				(i % 2 === 0 ? a : b).source.takeStart("limited", 3, 1000)
			)
		);
		expect(results.filter(r => r === 0).length).toBe(3);
		const waits = results.filter(r => r !== 0);
		expect(waits.length).toBe(9);
		for (const wait of waits) {
			expect(wait).toBeGreaterThan(0);
			expect(wait).toBeLessThanOrEqual(1000);
		}
		// Another type has its own counter.
		expect(await a.source.takeStart("other", 1, 1000)).toBe(0);
		// After the wait, the next window grants again.
		await new Promise(resolve => setTimeout(resolve, Math.max(...waits) + 20));
		expect(await b.source.takeStart("limited", 3, 1000)).toBe(0);

		// The sweep removes the windows that are over, keeping each type's latest.
		const rate = `"${pg.table()}_rate"`;
		const before = await admin().unsafe(
			`SELECT "type", "count" FROM ${rate} ORDER BY "windowStart", "type"`
		);
		expect(before.map(r => [r.type, r.count])).toEqual([
			["limited", 3],
			["other", 1],
			["limited", 1]
		]);
		await a.source.sweep(Date.now());
		const after = await admin().unsafe(`SELECT "type", "count" FROM ${rate} ORDER BY "type"`);
		expect(after.map(r => [r.type, r.count])).toEqual([
			["limited", 1],
			["other", 1]
		]);
	});
});
