// Shared set-up for the native PostgreSQL backend's tests: the file's database on the shared
// server (tests/setup/postgres.ts), a fresh table per test, sources that are closed after each
// test, a log that records entries, and tasks.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import type { ILogEntry } from "@twin.org/logging-models";
import type postgres from "postgres";
import { afterEach, beforeEach } from "vitest";
import type { BackgroundTask } from "../../src/domain/backgroundTask.js";
import type { IPostgreSqlBackendConfig } from "../../src/models/IPostgreSqlBackendConfig.js";
import { PostgresTaskSource } from "../../src/store/postgresql/postgresTaskSource.js";
import { TaskLog } from "../../src/utils/taskLog.js";
import { usePostgres, type ITestPostgres, type ITestPostgresOptions } from "../setup/postgres.js";

/**
 * A source under test with what it logged, the types it was woken for and the pauses and resumes
 * it reported.
 */
export interface ITestSource {
	/**
	 * The source.
	 */
	source: PostgresTaskSource;

	/**
	 * Log entries written.
	 */
	entries: ILogEntry[];

	/**
	 * Types passed to wake, in order.
	 */
	woken: string[];

	/**
	 * When each wake came, performance.now().
	 */
	wokenAt: number[];

	/**
	 * Types reported paused (true) or resumed (false), in order.
	 */
	paused: [type: string, paused: boolean][];
}

/**
 * Short leases for tests (the config's minimum is 1000 ms; the constructor's internal overrides
 * allow less).
 */
export const SHORT_LEASE = { leaseTimeout: 400, heartbeatInterval: 100 };

/**
 * The file's database on the shared server (or a server of its own), a fresh table name per test
 * and a factory of sources on it (opened, and closed after the test).
 * @param options A server of the file's own (which it may restart); none by default.
 * @returns Accessors.
 */
export function useSources(options?: ITestPostgresOptions): {
	server: () => ITestPostgres;
	table: () => string;
	config: (overrides?: Partial<IPostgreSqlBackendConfig>) => IPostgreSqlBackendConfig;
	open: (
		overrides?: Partial<IPostgreSqlBackendConfig>,
		internal?: ConstructorParameters<typeof PostgresTaskSource>[2]
	) => Promise<ITestSource>;
} {
	const postgresServer = usePostgres(options);
	let server: ITestPostgres | undefined;
	let table = "";
	let count = 0;
	const opened: PostgresTaskSource[] = [];

	beforeEach(async () => {
		server = await postgresServer();
		table = `native_task_${process.pid}_${++count}`;
	}, 90000);

	afterEach(async () => {
		await Promise.all(opened.splice(0).map(async s => s.close()));
	});

	const running = (): ITestPostgres => {
		if (!server) {
			throw new Error("PostgreSQL server not started");
		}
		return server;
	};
	const config = (overrides: Partial<IPostgreSqlBackendConfig> = {}): IPostgreSqlBackendConfig => ({
		host: running().host,
		port: running().port,
		user: running().user,
		password: "secret-pass-word",
		database: running().database,
		tableName: table,
		...overrides
	});
	return {
		server: running,
		table: () => table,
		config,
		open: async (overrides, internal) => {
			const entries: ILogEntry[] = [];
			const woken: string[] = [];
			const wokenAt: number[] = [];
			const paused: [string, boolean][] = [];
			const log = new TaskLog("PostgresTaskSource", {
				log: async (entry: ILogEntry) => {
					entries.push(entry);
				}
			} as never);
			const source = new PostgresTaskSource(config(overrides), log, internal);
			opened.push(source);
			await source.open(
				type => {
					woken.push(type);
					wokenAt.push(performance.now());
				},
				(type, isPaused) => paused.push([type, isPaused])
			);
			return { source, entries, woken, wokenAt, paused };
		}
	};
}

let taskCount = 0;

/**
 * A new pending task, due now unless overridden.
 * @param overrides Fields to set.
 * @returns The task.
 */
export function newTask(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const now = new Date().toISOString();
	return {
		id: randomBytes(16).toString("hex"),
		type: "native",
		threadId: "main",
		dateCreated: now,
		dateModified: now,
		dateNextProcess: now,
		status: TaskStatus.Pending,
		retainFor: 0,
		payload: { n: ++taskCount },
		...overrides
	};
}

/**
 * An ISO date at an offset from a base, for deterministic orders.
 * @param ms Offset in ms from 2026-01-01.
 * @returns The ISO date.
 */
export function at(ms: number): string {
	return new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
}

/**
 * A plan node of EXPLAIN (FORMAT JSON).
 */
export type PlanNode = { [key: string]: unknown };

/**
 * Run a statement under EXPLAIN ANALYZE in a transaction that is rolled back (so it changes
 * nothing), and return every node of its plan.
 * @param sql The admin client.
 * @param statement The statement.
 * @param params Its parameters.
 * @param setting A SET LOCAL to apply first (for example a plan_cache_mode).
 * @returns The plan's nodes, depth first.
 */
export async function analyzedPlan(
	sql: postgres.Sql,
	statement: string,
	params: unknown[],
	setting?: string
): Promise<PlanNode[]> {
	const nodes: PlanNode[] = [];
	const walk = (node: PlanNode): void => {
		nodes.push(node);
		for (const child of (node.Plans as PlanNode[] | undefined) ?? []) {
			walk(child);
		}
	};
	await sql
		.begin(async tx => {
			if (setting) {
				await tx.unsafe(`SET LOCAL ${setting}`);
			}
			const [row] = await tx.unsafe(
				`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`,
				params as postgres.ParameterOrJSON<never>[]
			);
			walk((row["QUERY PLAN"] as { Plan: PlanNode }[])[0].Plan);
			throw new Error("rollback");
		})
		.catch((err: Error) => {
			if (err.message !== "rollback") {
				throw err;
			}
		});
	return nodes;
}

/**
 * The plans of a statement, without running it: with its parameters known (a custom plan) and
 * the generic plan a prepared statement may switch to after five runs.
 * @param sql The admin client.
 * @param text The statement.
 * @param types Its parameters' SQL types.
 * @param args Its arguments, as SQL literals.
 * @returns Each plan as JSON text.
 */
export async function plansOf(
	sql: postgres.Sql,
	text: string,
	types: string,
	args: string
): Promise<string[]> {
	return sql.begin(async tx => {
		await tx.unsafe(`PREPARE plan_check (${types}) AS ${text}`);
		const plans: string[] = [];
		for (const mode of ["force_custom_plan", "force_generic_plan"]) {
			await tx.unsafe(`SET LOCAL plan_cache_mode = ${mode}`);
			plans.push(
				JSON.stringify(await tx.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE plan_check (${args})`))
			);
		}
		await tx.unsafe("DEALLOCATE plan_check");
		return plans;
	});
}

/**
 * Scratch directories for a file's tests (a handler's start and release files), removed after
 * each test.
 * @param prefix The directories' name prefix.
 * @returns A function that makes one.
 */
export function useScratchDirs(prefix: string): () => string {
	const dirs: string[] = [];
	afterEach(() => {
		for (const dir of dirs.splice(0)) {
			rmSync(dir, { recursive: true, force: true });
		}
	});
	return () => {
		const dir = mkdtempSync(join(tmpdir(), prefix));
		dirs.push(dir);
		return dir;
	};
}
