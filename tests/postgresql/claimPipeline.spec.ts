// The native backend's claims on a backlog: two in flight at once, each of at most half the local
// queue, on a connection of their own within maxConnections that the settles share
// (TaskFeed.CLAIMS_IN_FLIGHT, PostgresPools.scheduler).
import { afterEach, describe, expect, test, vi } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import type { IStatementOptions } from "../../src/store/postgresql/IStatementOptions.js";
import { PostgresTaskSource } from "../../src/store/postgresql/postgresTaskSource.js";
import { StatementRunner } from "../../src/store/postgresql/statementRunner.js";
import { waitFor } from "../helpers/harness.js";
import { useSources } from "./helpers.js";

const HANDLERS = new URL("../fixtures/handlers.mjs", import.meta.url).href;

const pg = useSources();

afterEach(() => {
	vi.restoreAllMocks();
});

/**
 * Run a backlog on one started connector and watch its claims.
 * @param maxConnections The pool size.
 * @param tasks How many tasks.
 * @returns What was seen: the most claims in flight at once, each claim's limit, the most tasks
 * claimed and not yet started (waiting in the local queue), and the most connections of the node
 * at once.
 */
async function runBacklog(
	maxConnections: number,
	tasks: number
): Promise<{ inFlight: number; limits: number[]; waiting: number; connections: number }> {
	const localQueueSize = 20;
	const seen = { inFlight: 0, limits: [] as number[], waiting: 0, connections: 0 };
	let inFlight = 0;
	let claimed = 0;
	let started = 0;
	let finished = 0;
	const fetch = PostgresTaskSource.prototype.fetch;
	vi.spyOn(PostgresTaskSource.prototype, "fetch").mockImplementation(async function (
		this: PostgresTaskSource,
		...args: Parameters<PostgresTaskSource["fetch"]>
	) {
		seen.inFlight = Math.max(seen.inFlight, ++inFlight);
		seen.limits.push(args[2]);
		try {
			const result = await fetch.apply(this, args);
			claimed += result.tasks.length;
			seen.waiting = Math.max(seen.waiting, claimed - started);
			return result;
		} finally {
			inFlight--;
		}
	});
	const connector = new EntityStorageBackgroundTaskConnector({
		config: {
			executionMode: "inline",
			postgresql: pg.config({ localQueueSize, maxConnections })
		}
	});
	await connector.createMany(
		"echo",
		Array.from({ length: tasks }, (_, i) => ({ i }))
	);
	await connector.registerHandler(
		"echo",
		HANDLERS,
		"echo",
		async task => {
			if (task.status === "processing") {
				started++;
			} else if (task.status === "success") {
				finished++;
			}
		},
		{ concurrency: 4 }
	);
	const admin = pg.server().sql;
	const countConnections = async (): Promise<void> => {
		const [row] = await admin.unsafe(
			`SELECT count(*)::int AS "n" FROM pg_stat_activity
			WHERE "application_name" = 'twin-background-task' AND "datname" = current_database()`
		);
		seen.connections = Math.max(seen.connections, row.n);
	};
	await connector.start("test");
	try {
		await waitFor(async () => {
			await countConnections();
			return finished === tasks;
		}, 30_000);
	} finally {
		await connector.stop("test");
	}
	return seen;
}

describe("claims on a backlog (native backend)", () => {
	test("two claims in flight, each of at most half the local queue, never more held than the local queue; at most maxConnections + 1 connections", async () => {
		const seen = await runBacklog(3, 600);
		expect(seen.inFlight).toBe(2);
		expect(Math.max(...seen.limits)).toBeLessThanOrEqual(10);
		expect(seen.waiting).toBeLessThanOrEqual(20);
		expect(seen.connections).toBeGreaterThanOrEqual(2);
		expect(seen.connections).toBeLessThanOrEqual(3 + 1);
	});

	test("claims and settles both run on the scheduler's connection, not the session's pool", async () => {
		// Which pool each batch claim ("fetch") and settle batch ("settle") was sent to.
		const pools: { [what: string]: Set<string> } = { fetch: new Set(), settle: new Set() };
		const record = (options: IStatementOptions): void => {
			if (options.deadline !== undefined && options.deadline in pools) {
				pools[options.deadline].add(options.on ?? "default");
			}
		};
		for (const method of ["run", "values"] as const) {
			const original = StatementRunner.prototype[method] as (...args: unknown[]) => unknown;
			vi.spyOn(StatementRunner.prototype, method).mockImplementation(function (
				this: StatementRunner,
				...args: unknown[]
			) {
				record(args[2] as IStatementOptions);
				return original.apply(this, args);
			} as never);
		}
		const seen = await runBacklog(3, 200);
		expect([...pools.fetch]).toEqual(["scheduler"]);
		expect([...pools.settle]).toEqual(["scheduler"]);
		expect(seen.connections).toBeLessThanOrEqual(3 + 1);
	});

	test("with maxConnections 1 the claims share the one pool connection: two connections in all", async () => {
		const seen = await runBacklog(1, 200);
		expect(seen.inFlight).toBe(2);
		expect(seen.connections).toBeLessThanOrEqual(2);
	});
});
