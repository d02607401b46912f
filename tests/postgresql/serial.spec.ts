// A serial type (registerHandler's { serial: true }) on the native backend: one task at a time, in
// order, across every connector on the table. Two connectors in one process stand for two nodes
// (each has its own lease owner); several processes are covered in tests/multinode.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { afterAll, describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import { waitFor } from "../helpers/harness.js";
import { analyzedPlan, newTask, useSources } from "./helpers.js";

const ORDERED = new URL("../fixtures/serialHandler.mjs", import.meta.url).href;
const scratch = mkdtempSync(join(tmpdir(), "twin-bg-serial-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pg = useSources();
const { config } = pg;

/**
 * A started connector on the test table.
 * @param options The handler options.
 * @returns The connector.
 */
async function node(options: {
	serial?: boolean;
	concurrency?: number;
}): Promise<EntityStorageBackgroundTaskConnector> {
	const connector = new EntityStorageBackgroundTaskConnector({
		config: {
			executionMode: "inline",
			pollInterval: 200,
			postgresql: { ...config(), leaseTimeout: 1000, heartbeatInterval: 300 }
		}
	});
	await connector.registerHandler("ordered", ORDERED, "ordered", undefined, options);
	await connector.start("test");
	return connector;
}

/**
 * The start and end lines of a log, as [n, kind, ms].
 * @param log The log file.
 * @returns The events in file order.
 */
function events(log: string): [number, string, number][] {
	return readFileSync(log, "utf8")
		.trim()
		.split("\n")
		.map(line => line.split(" "))
		.map(([n, kind, ms]) => [Number(n), kind, Number(ms)]);
}

describe("serial types on the native backend", () => {
	test("two nodes, one serial type: strict order of starts and no overlap", async () => {
		const a = await node({ serial: true });
		const b = await node({ serial: true });
		const log = join(scratch, "order.log");
		try {
			const count = 30;
			for (let n = 0; n < count; n++) {
				// Created alternately on both nodes, in order (distinct creation times).
				await (n % 2 === 0 ? a : b).create("ordered", { log, n, ms: 5 }, { retainFor: -1 });
				// The next task is due a millisecond later: due times order tasks, ties fall to ids.
				const created = Date.now();
				await waitFor(() => Date.now() > created, 1000, "the clock to tick");
			}
			await waitFor(
				async () => {
					const { entities } = await a.query(
						"ordered",
						TaskStatus.Success,
						undefined,
						undefined,
						undefined,
						100
					);
					return entities.length === count;
				},
				20000,
				"every task to succeed"
			);
			const seen = events(log);
			expect(seen).toHaveLength(count * 2);
			// Start n, end n, start n+1, end n+1, ...: in order, never two at once.
			seen.forEach(([n, kind], i) => {
				expect([n, kind]).toEqual([Math.floor(i / 2), i % 2 === 0 ? "start" : "end"]);
			});
		} finally {
			await a.stop("test");
			await b.stop("test");
		}
	});

	test("serial with a concurrency above 1 is rejected naming options.concurrency", async () => {
		const connector = new EntityStorageBackgroundTaskConnector({
			config: { executionMode: "inline", postgresql: config() }
		});
		await expect(
			connector.registerHandler("ordered", ORDERED, "ordered", undefined, {
				serial: true,
				concurrency: 2
			})
		).rejects.toMatchObject({
			name: "ValidationError",
			properties: {
				validationFailures: [expect.objectContaining({ property: "options.concurrency" })]
			}
		});
	});
});

describe("a serial type's running-task check", () => {
	test("with a 50,000-task backlog of the type, reads the type's holder by key once one is recorded, not the type's rows", async () => {
		const { source } = await pg.open();
		await source.insertMany(Array.from({ length: 50_000 }, () => newTask({ type: "big" })));
		const admin = pg.server().sql;
		await admin.unsafe(`ANALYZE "${pg.table()}"`);
		const statements = new PostgresStatements(pg.table());
		// How many times the claim scans the task table, by EXPLAIN ANALYZE of the statement in a
		// transaction that is rolled back.
		const scans = async (): Promise<number> =>
			(
				await analyzedPlan(admin, statements.fetchSerial, [
					"big",
					"main",
					new Date().toISOString(),
					"owner",
					30000
				])
			)
				.filter(node => node["Node Type"] === "Seq Scan" && node["Relation Name"] === pg.table())
				.reduce((loops, node) => loops + Number(node["Actual Loops"]), 0);
		// No holder recorded yet: the check scans the type's rows.
		expect(await scans()).toBeGreaterThan(0);
		const first = await source.fetch("big", "main", 1, 0, true);
		expect(first.tasks.length).toBe(1);
		const [holder] = await admin.unsafe(
			`SELECT "taskId" FROM "${pg.table()}_serial" WHERE "type" = 'big'`
		);
		expect(holder.taskId).toBe(first.tasks[0].id);
		// Recorded: the holder is read by key, whatever the backlog, and while it runs nothing more
		// is claimed.
		expect(await scans()).toBe(0);
		expect((await source.fetch("big", "main", 1, 0, true)).tasks).toEqual([]);
	}, 60000);
});
