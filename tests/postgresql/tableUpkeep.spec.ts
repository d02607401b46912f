// The native backend vacuums its table itself (config.postgresql.vacuumEvery, TableUpkeep) once
// the table's dead rows reach the setting, so the dead entries settles leave at the head of the
// claim index do not wait for autovacuum; a role that may not vacuum the table says so once and
// works as before. The server's own counters tell: pg_stat_user_tables.vacuum_count counts only
// VACUUM statements, never autovacuum.
import { TaskStatus } from "@twin.org/background-task-models";
import { expect, test } from "vitest";
import { CONTRACT_HANDLERS } from "../contract/storageContract.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { registerLoggingConnector } from "../helpers/logging.js";
import { useSources } from "./helpers.js";

const pg = useSources();

const SLEEP_HANDLER = new URL("../fixtures/sleepHandler.mjs", import.meta.url).href;

/**
 * The VACUUM statements run on the test's table so far.
 * @returns The count.
 */
async function vacuums(): Promise<number> {
	const [row] = await pg
		.server()
		.sql.unsafe(`SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relname = $1`, [
			pg.table()
		]);
	return row?.n ?? 0;
}

/**
 * Run tasks through a started connector twenty at a time, each batch once the one before has
 * succeeded, so the node claims a few at a time as under a trickle, until `done` says so or
 * `bound` ms have passed.
 * @param connector The connector.
 * @param done Whether to stop creating.
 * @param bound The longest time to create, ms.
 * @returns The ids created.
 */
async function trickle(
	connector: ReturnType<typeof createConnector>["connector"],
	done: () => Promise<boolean>,
	bound: number
): Promise<string[]> {
	const ids: string[] = [];
	const until = Date.now() + bound;
	while (Date.now() < until && !(await done())) {
		const batch: string[] = [];
		for (let i = 0; i < 20; i++) {
			batch.push(await connector.create("upkeep", { n: ids.length + i }, { retainFor: -1 }));
		}
		for (const id of batch) {
			await waitForStatus(connector, id, [TaskStatus.Success], 10000);
		}
		ids.push(...batch);
	}
	return ids;
}

/**
 * A started inline connector on the test's table, running "upkeep" tasks with the echo handler.
 * @param vacuumEvery config.postgresql.vacuumEvery.
 * @returns The connector.
 */
async function startedConnector(
	vacuumEvery: number
): Promise<ReturnType<typeof createConnector>["connector"]> {
	const { connector, start } = createConnector({
		executionMode: "inline",
		postgresql: pg.config({ vacuumEvery })
	});
	await connector.registerHandler("upkeep", CONTRACT_HANDLERS, "echo");
	await start();
	return connector;
}

test("a node vacuums the table once its dead rows reach vacuumEvery", async () => {
	const connector = await startedConnector(100);
	expect(await vacuums()).toBe(0);
	const ids = await trickle(connector, async () => (await vacuums()) > 0, 20000);
	expect(await vacuums(), `vacuums after ${ids.length} tasks`).toBeGreaterThan(0);
});

test("a node working through a backlog in large claims does not vacuum meanwhile", async () => {
	const { connector, start } = createConnector({
		executionMode: "inline",
		concurrency: 8,
		postgresql: pg.config({ vacuumEvery: 100 })
	});
	// 5 ms a task, eight at a time: about four seconds, its claims taking 250 tasks each. By the
	// time two thirds are done the node has had two looks' worth of settles and gaps, each time
	// well past vacuumEvery dead rows. Once the backlog runs dry its claims come back empty, and
	// a vacuum then is what the next claims want.
	await connector.registerHandler("upkeep", SLEEP_HANDLER, "sleepFor");
	const ids = await connector.createMany(
		"upkeep",
		Array.from({ length: 6000 }, () => ({ ms: 5 })),
		{ retainFor: -1 }
	);
	await start();
	const sql = pg.server().sql;
	await waitFor(
		async () => {
			const [{ n }] = await sql.unsafe(
				`SELECT count(*)::int AS n FROM "${pg.table()}" WHERE status = 'success'`
			);
			return n >= 4000 || undefined;
		},
		30000,
		"two thirds of the backlog"
	);
	expect(await vacuums()).toBe(0);
	for (const id of ids) {
		await waitForStatus(connector, id, [TaskStatus.Success], 20000);
	}
});

test("vacuumEvery 0 leaves the table to autovacuum", async () => {
	const connector = await startedConnector(0);
	// As many tasks as the test above needs for a vacuum many times over (its first look comes
	// after 25 settles), over more than the one-second gap between looks.
	const ids = await trickle(connector, async () => false, 2500);
	expect(ids.length).toBeGreaterThanOrEqual(200);
	expect(await vacuums()).toBe(0);
});

test("a role that owns neither the table nor the database: logged once, no vacuum, tasks run", async () => {
	// The table and its side tables made by the file's superuser, then a plain role with the
	// privileges the README lists.
	const owner = createConnector({ executionMode: "inline", postgresql: pg.config() });
	await owner.start();
	await owner.connector.stop("test");
	const sql = pg.server().sql;
	const role = `upkeep_${process.pid}`;
	const table = pg.table();
	await sql.unsafe(`DROP ROLE IF EXISTS ${role}`);
	await sql.unsafe(`CREATE ROLE ${role} LOGIN`);
	try {
		for (const name of [
			table,
			`${table}_rate`,
			`${table}_serial`,
			`${table}_paused`,
			`${table}_schedules`
		]) {
			await sql.unsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON "${name}" TO ${role}`);
		}
		const logger = registerLoggingConnector();
		const { connector, start } = createConnector(
			{ executionMode: "inline", postgresql: pg.config({ user: role, vacuumEvery: 4 }) },
			undefined,
			{ loggingConnectorType: logger.name }
		);
		await connector.registerHandler("upkeep", CONTRACT_HANDLERS, "echo");
		await start();
		const notAllowed = (): number =>
			logger.entries.filter(e => e.message === "vacuumNotAllowed").length;
		const ids = await trickle(connector, async () => notAllowed() > 0, 10000);
		// More settles, well past the gap between looks: still the one entry.
		await trickle(connector, async () => false, 1500);
		await connector.stop("test");
		expect(ids.length).toBeGreaterThan(0);
		expect(notAllowed()).toBe(1);
		expect(logger.entries.filter(e => e.level === "warn" || e.level === "error")).toEqual([]);
		expect(await vacuums()).toBe(0);
	} finally {
		await sql.unsafe(`DROP OWNED BY ${role}`);
		await sql.unsafe(`DROP ROLE ${role}`);
	}
});
