// The queue features across nodes on the native backend: two connectors in one process stand for
// two nodes (each has its own pools and lease owner). A rate limit holds across both, by the
// counter in the database; two nodes racing on one dedupKey create one task; a pause and a resume
// on one node reach the other.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { afterAll, describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import { useSources } from "./helpers.js";

const HANDLERS = new URL("../contract/handlers.mjs", import.meta.url).href;
const scratch = mkdtempSync(join(tmpdir(), "twin-bg-queue-cluster-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const { config, server, table } = useSources();

/**
 * A started connector on the test table.
 * @param rateLimit The rate limit of the "limited" type.
 * @returns The connector.
 */
async function node(rateLimit?: {
	max: number;
	per: number;
}): Promise<EntityStorageBackgroundTaskConnector> {
	const connector = new EntityStorageBackgroundTaskConnector({
		config: {
			executionMode: "inline",
			pollInterval: 200,
			postgresql: { ...config(), leaseTimeout: 2000, heartbeatInterval: 500 }
		}
	});
	await connector.registerHandler("limited", HANDLERS, "record", undefined, {
		concurrency: 4,
		rateLimit
	});
	await connector.start("test");
	return connector;
}

/**
 * A started connector on the test table that runs the "gated" and "open" types or none, and polls
 * far less often than the pause tests wait: only a notice can tell it of a pause or resume in time.
 * @param runs Whether it registers the handlers.
 * @returns The connector.
 */
async function pauseNode(runs: boolean): Promise<EntityStorageBackgroundTaskConnector> {
	const connector = new EntityStorageBackgroundTaskConnector({
		config: {
			executionMode: "inline",
			pollInterval: 60_000,
			postgresql: { ...config(), leaseTimeout: 2000, heartbeatInterval: 500 }
		}
	});
	if (runs) {
		await connector.registerHandler("gated", HANDLERS, "waitForRelease");
		await connector.registerHandler("open", HANDLERS, "echo");
	}
	await connector.start("test");
	return connector;
}

describe("queue features across nodes (native backend)", () => {
	test("a pause on one node stops the other starting the type and gives its fetched task back; a resume on either starts it at once", async () => {
		// Only a runs the types; b pauses and resumes them.
		const a = await pauseNode(true);
		const b = await pauseNode(false);
		const file = (name: string): string => join(scratch, name);
		writeFileSync(file("released"), "go");
		try {
			const hold = await b.create(
				"gated",
				{ started: file("hold-started"), release: file("hold-release") },
				{ retainFor: -1 }
			);
			await waitFor(() => existsSync(file("hold-started")), 10000, "the holding task to start");
			// Claimed by a into its local queue behind the running task (concurrency 1).
			const queued = await b.create(
				"gated",
				{ started: file("queued-started"), release: file("released") },
				{ retainFor: -1 }
			);
			await waitForStatus(a, queued, [TaskStatus.Processing]);

			await b.pause("gated");
			// Only a's scheduler, told by b's notice, gives the claimed task back.
			await waitForStatus(a, queued, [TaskStatus.Pending]);
			writeFileSync(file("hold-release"), "go");
			await waitForStatus(a, hold, [TaskStatus.Success]);
			// a is at work with its slot for "gated" free, and starts nothing of it.
			for (const id of await b.createMany("open", [1, 2, 3], { retainFor: -1 })) {
				await waitForStatus(a, id, [TaskStatus.Success]);
			}
			expect((await a.get(queued))?.status).toBe(TaskStatus.Pending);
			expect(existsSync(file("queued-started"))).toBe(false);
			expect((await a.getStatistics()).pausedTypes).toEqual(["gated"]);

			await b.resume("gated");
			await waitForStatus(a, queued, [TaskStatus.Success]);

			// Paused by b, resumed by a.
			await b.pause("gated");
			const later = await b.create(
				"gated",
				{ started: file("later-started"), release: file("released") },
				{ retainFor: -1 }
			);
			for (const id of await b.createMany("open", [4, 5], { retainFor: -1 })) {
				await waitForStatus(a, id, [TaskStatus.Success]);
			}
			expect((await a.get(later))?.status).toBe(TaskStatus.Pending);
			await a.resume("gated");
			await waitForStatus(a, later, [TaskStatus.Success]);
			expect((await b.getStatistics()).pausedTypes).toEqual([]);
		} finally {
			await a.stop("test");
			await b.stop("test");
		}
	});

	test("a rate limit holds across two nodes: at most max starts per window in all", async () => {
		const max = 3;
		const per = 500;
		const a = await node({ max, per });
		const b = await node({ max, per });
		const log = join(scratch, "rate.log");
		try {
			const count = 18;
			await a.createMany(
				"limited",
				Array.from({ length: count }, (_, i) => ({ log, label: `t${i}` })),
				{ retainFor: -1 }
			);
			await waitFor(
				async () =>
					(await a.getStatistics("limited")).types.limited?.success === count ? true : undefined,
				20000,
				"every task to succeed"
			);
			const starts = readFileSync(log, "utf8")
				.trim()
				.split("\n")
				.map(line => Number(line.split(" ")[1]))
				.sort((x, y) => x - y);
			expect(starts).toHaveLength(count);
			// The database counts fixed windows of `per` ms, so any `per` ms span holds at most 2 * max
			// starts (the end of one window and the start of the next); count / max windows are used,
			// the first and the last perhaps only at their edges. The handlers' clocks see each start
			// a varying time after its claim (a worker thread's dispatch; 39 ms once on a loaded CI
			// host), hence the slack; the database's own account below is exact.
			for (let i = 0; i + 2 * max < starts.length; i++) {
				expect(starts[i + 2 * max] - starts[i]).toBeGreaterThanOrEqual(per - 150);
			}
			expect(starts[starts.length - 1] - starts[0]).toBeGreaterThanOrEqual(
				(count / max - 2) * per - 50
			);
			// The database's own account: every start took one unit of a window's counter, and no
			// window granted more than max, though both nodes asked (each alone allows max per
			// window, so two nodes without the shared counter would start 2 * max per window).
			const windows = await server().sql.unsafe<{ count: number }[]>(
				`SELECT "count" FROM "${PostgresStatements.rateTableName(table())}" WHERE "type" = 'limited'`
			);
			expect(windows.reduce((sum, w) => sum + Number(w.count), 0)).toBe(count);
			expect(Math.max(...windows.map(w => Number(w.count)))).toBeLessThanOrEqual(max);
			expect(windows.length).toBeGreaterThanOrEqual(count / max);
			const rows = await server().sql.unsafe<{ n: string }[]>(
				`SELECT count(*) AS n FROM "${table()}" WHERE "status" = 'success'`
			);
			expect(Number(rows[0].n)).toBe(count);
		} finally {
			await a.stop("test");
			await b.stop("test");
		}
	});

	test("two nodes racing on one dedupKey create one task", async () => {
		const a = await node();
		const b = await node();
		try {
			await a.unregisterHandler("limited");
			await b.unregisterHandler("limited");
			const ids = await Promise.all(
				Array.from({ length: 40 }, async (_, i) =>
					(i % 2 === 0 ? a : b).create("deduped", { i }, { dedupKey: "same", retainFor: -1 })
				)
			);
			expect(new Set(ids).size).toBe(1);
			const rows = await server().sql.unsafe<{ id: string; status: string }[]>(
				`SELECT "id", "status" FROM "${table()}" WHERE "type" = 'deduped'`
			);
			expect(rows).toHaveLength(1);
			expect(rows[0].status).toBe(TaskStatus.Pending);
			expect(ids[0].endsWith(rows[0].id)).toBe(true);
		} finally {
			await a.stop("test");
			await b.stop("test");
		}
	});
});
