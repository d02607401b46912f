// Shared set-up of the multi-node tests: node processes (tests/fixtures/node-child.mjs, the BUILT
// package on the native PostgreSQL backend) on one table of the throw-away server, the execution
// log their handlers write, and direct reads of the table.
//
// Every child is bounded twice: spawn's timeout kills it (SIGKILL) after CHILD_TIMEOUT_MS, and
// every child still alive after a test is killed. Every wait is a bounded poll.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { IPostgreSqlBackendConfig } from "../../src/models/IPostgreSqlBackendConfig.js";
import { usePostgres, type ITestPostgres, type ITestPostgresOptions } from "../setup/postgres.js";

const CHILD = new URL("../fixtures/node-child.mjs", import.meta.url).pathname;

/**
 * No child lives longer than this.
 */
const CHILD_TIMEOUT_MS = 120_000;

/**
 * A line a node printed (see the protocol in tests/fixtures/node-child.mjs).
 */
export interface INodeEvent {
	/**
	 * The kind of line.
	 */
	event: string;

	/**
	 * The rest.
	 */
	[key: string]: unknown;
}

/**
 * What a node is told to do.
 */
export interface INodeSpec {
	/**
	 * The node's name, recorded by its handlers.
	 */
	node: string;

	/**
	 * The connector's config besides postgresql (merged with the test's defaults).
	 */
	config?: { [key: string]: unknown };

	/**
	 * Fields of config.postgresql besides the connection and table.
	 */
	postgresql?: Partial<IPostgreSqlBackendConfig>;

	/**
	 * The handlers to register (from node-handlers.mjs, or module: another file of tests/fixtures);
	 * default one "work" type running "run".
	 */
	handlers?: {
		type: string;
		method?: string;
		options?: { [key: string]: unknown };
		module?: string;
	}[];

	/**
	 * False for a node that only creates tasks.
	 */
	start?: boolean;

	/**
	 * Tasks to create once started.
	 */
	create?: ICreateBatch;

	/**
	 * Schedules to declare once started (schedule(name, options)), each reported "scheduled".
	 */
	schedules?: { name: string; options: { [key: string]: unknown } }[];

	/**
	 * Tasks to add to a ClusteredTaskScheduler over the node's connector once started (see
	 * node-child.mjs), reported "scheduled".
	 */
	taskScheduler?: { tasks: { id: string; times: { [key: string]: number }[] }[] };

	/**
	 * How far the node's Date.now() is off the true clock, ms (patched before the package loads).
	 */
	clockSkewMs?: number;
}

/**
 * Tasks for a node to create: keys prefix + index, payload { ...payload, k }.
 */
export interface ICreateBatch {
	/**
	 * The task type.
	 */
	type: string;

	/**
	 * How many.
	 */
	count: number;

	/**
	 * The keys' prefix.
	 */
	prefix: string;

	/**
	 * The first index.
	 */
	from?: number;

	/**
	 * Creates in flight at once (1: in order).
	 */
	parallel?: number;

	/**
	 * Payload fields besides k.
	 */
	payload?: { [key: string]: unknown };

	/**
	 * create()'s options.
	 */
	options?: { retryCount?: number; retryInterval?: number; retainFor?: number };

	/**
	 * A pause after each create, ms (distinct creation times, with parallel 1).
	 */
	gapMs?: number;

	/**
	 * Print an "id" line per create.
	 */
	reportIds?: boolean;

	/**
	 * Print a "created" line every this many creates (default 250).
	 */
	progressEvery?: number;

	/**
	 * Create in createMany calls of this many tasks (consecutive keys) instead of one create per
	 * task: each call that returns prints "createdMany" { from, count }; one that throws prints
	 * "createManyFailed" { from, count, error } and is tried again whole.
	 */
	many?: number;
}

/**
 * A running node process.
 */
export interface INode {
	/**
	 * Its name.
	 */
	name: string;

	/**
	 * The process.
	 */
	process: ChildProcess;

	/**
	 * Every line it printed.
	 */
	events: INodeEvent[];

	/**
	 * Resolves when it exits.
	 */
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

	/**
	 * Its stderr so far.
	 */
	stderr: () => string;

	/**
	 * Wait (bounded) for a line matching a predicate; fails at once when the node exits first,
	 * and when the node has printed nothing for timeoutMs (progress lines such as "created" keep
	 * a slow node waiting, up to three times timeoutMs in all).
	 * @param match The predicate.
	 * @param timeoutMs The longest silence.
	 * @param what What is waited for.
	 * @returns The line.
	 */
	waitForEvent: (
		match: (e: INodeEvent) => boolean,
		timeoutMs: number,
		what: string
	) => Promise<INodeEvent>;

	/**
	 * Send a command line on stdin.
	 * @param command The command.
	 */
	send: (command: { [key: string]: unknown }) => void;

	/**
	 * Stop it gracefully (the stop command) and wait (bounded) for it to exit on its own.
	 * @param timeoutMs The bound.
	 * @returns How it exited.
	 */
	stop: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

	/**
	 * SIGKILL it and wait for the exit.
	 * @returns When the kill was sent, epoch ms.
	 */
	kill: () => Promise<number>;

	/**
	 * The warn/error log entries it printed, optionally only those with a message key.
	 * @param message The message key.
	 * @returns The entries.
	 */
	logs: (message?: string) => INodeEvent[];
}

/**
 * One line of the execution log: `<key> <node> <pid> start|end|fail <epoch ms>`.
 */
export interface IRun {
	/**
	 * The task's key (payload k).
	 */
	key: string;

	/**
	 * The node that ran it.
	 */
	node: string;

	/**
	 * The process that ran it.
	 */
	pid: number;

	/**
	 * What happened.
	 */
	kind: "start" | "end" | "fail";

	/**
	 * When, epoch ms.
	 */
	t: number;
}

/**
 * A row of the table as the tests read it.
 */
export interface ITaskRow {
	/**
	 * The storage id.
	 */
	id: string;

	/**
	 * The payload's key.
	 */
	k: string;

	/**
	 * The status.
	 */
	status: string;

	/**
	 * The result.
	 */
	result: { k?: string; node?: string; pid?: number } | null;

	/**
	 * The error.
	 */
	error: unknown;

	/**
	 * The lease owner.
	 */
	leaseOwner: string | null;

	/**
	 * The lease's end, epoch ms of the database clock.
	 */
	leaseExpires: number | null;

	/**
	 * The last change.
	 */
	dateModified: string;

	/**
	 * When cancelled.
	 */
	dateCancelled: string | null;
}

/**
 * What a test works with.
 */
export interface IMultinode {
	/**
	 * The server.
	 */
	server: () => ITestPostgres;

	/**
	 * This test's table.
	 */
	table: () => string;

	/**
	 * This test's execution log.
	 */
	log: () => string;

	/**
	 * This test's scratch directory.
	 */
	dir: () => string;

	/**
	 * The postgresql config of this test's table.
	 * @param extra Further fields.
	 * @returns The config.
	 */
	postgresql: (extra?: Partial<IPostgreSqlBackendConfig>) => IPostgreSqlBackendConfig;

	/**
	 * Start a node process.
	 * @param spec What it does.
	 * @returns The node.
	 */
	spawnNode: (spec: INodeSpec) => INode;

	/**
	 * The execution log's lines, in order.
	 * @returns The runs.
	 */
	runs: () => IRun[];

	/**
	 * Every row of the table.
	 * @returns The rows.
	 */
	rows: () => Promise<ITaskRow[]>;

	/**
	 * How many rows have each status.
	 * @returns Count by status.
	 */
	statusCounts: () => Promise<{ [status: string]: number }>;
}

/**
 * The defaults of every node's config: short leases, fast polling, inline handlers.
 */
export const NODE_DEFAULTS = {
	leaseTimeout: 1500,
	heartbeatInterval: 300,
	pollInterval: 200
};

/**
 * The server of the spec file, a table, log and directory per test, and node processes that are
 * killed after each test.
 * @param label A short name for this file's tables.
 * @param options A server of the file's own (which it may restart); by default the file's
 *   database on the shared server.
 * @returns Accessors.
 */
export function useMultinode(label: string, options?: ITestPostgresOptions): IMultinode {
	const postgresServer = usePostgres(options);
	let server: ITestPostgres | undefined;
	let table = "";
	let dir = "";
	let count = 0;
	const nodes: INode[] = [];

	beforeEach(async () => {
		server = await postgresServer();
		table = `mn_${label}_${process.pid}_${++count}`;
		dir = mkdtempSync(join(tmpdir(), `multinode-${label}-`));
	}, 90000);

	afterEach(async () => {
		for (const node of nodes.splice(0)) {
			if (node.process.exitCode === null && node.process.signalCode === null) {
				// A paused node must be resumed for SIGKILL's exit to be reported promptly.
				node.process.kill("SIGCONT");
				node.process.kill("SIGKILL");
				await node.exited;
			}
		}
		await server?.sql.unsafe(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
		rmSync(dir, { recursive: true, force: true });
	}, 30000);

	const running = (): ITestPostgres => {
		if (!server) {
			throw new Error("PostgreSQL server not started");
		}
		return server;
	};
	const postgresql = (extra: Partial<IPostgreSqlBackendConfig> = {}): IPostgreSqlBackendConfig => ({
		host: running().host,
		port: running().port,
		user: running().user,
		password: "trust",
		database: running().database,
		tableName: table,
		maxConnections: 3,
		leaseTimeout: NODE_DEFAULTS.leaseTimeout,
		heartbeatInterval: NODE_DEFAULTS.heartbeatInterval,
		...extra
	});

	const spawnNode = (spec: INodeSpec): INode => {
		const childSpec = {
			node: spec.node,
			log: join(dir, "runs.log"),
			dir,
			config: {
				executionMode: "inline",
				pollInterval: NODE_DEFAULTS.pollInterval,
				shutdownTimeout: 5000,
				...spec.config,
				postgresql: postgresql(spec.postgresql)
			},
			handlers: spec.handlers ?? [{ type: "work" }],
			start: spec.start,
			create: spec.create,
			schedules: spec.schedules,
			taskScheduler: spec.taskScheduler,
			clockSkewMs: spec.clockSkewMs
		};
		const node = startNodeProcess(spec.node, childSpec);
		nodes.push(node);
		return node;
	};

	return {
		server: running,
		table: () => table,
		log: () => join(dir, "runs.log"),
		dir: () => dir,
		postgresql,
		spawnNode,
		runs: () => readRuns(join(dir, "runs.log")),
		rows: async () =>
			running().sql.unsafe<ITaskRow[]>(
				`SELECT "id", "payload"->>'k' AS "k", "status", "result", "error", "leaseOwner",
					"leaseExpires"::float8 AS "leaseExpires", "dateModified", "dateCancelled"
				FROM "${table}"`
			),
		statusCounts: async () => {
			const rows = await running()
				.sql.unsafe<{ status: string; n: number }[]>(
					`SELECT "status", count(*)::int AS "n" FROM "${table}" GROUP BY "status"`
				)
				.catch((err: { code?: string }) => {
					// Before the first node made the table.
					if (err.code === "42P01") {
						return [];
					}
					throw err;
				});
			return Object.fromEntries(rows.map(r => [r.status, r.n]));
		}
	};
}

/**
 * Poll until a check returns a value other than undefined or false, or fail after a bound.
 * @param check The check; what it throws fails the wait at once.
 * @param timeoutMs The bound.
 * @param what What is waited for, for the error.
 * @param intervalMs The pause between checks.
 * @returns The check's value.
 */
export async function waitFor<T>(
	check: () => T | Promise<T>,
	timeoutMs: number,
	what: string,
	intervalMs = 10
): Promise<Exclude<T, undefined | false>> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) {
			return value as Exclude<T, undefined | false>;
		}
		if (Date.now() > deadline) {
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		}
		await new Promise(resolve => setTimeout(resolve, intervalMs));
	}
}

/**
 * Poll like waitFor, but fail only when the progress key has not changed for stallMs, or after
 * maxMs in all: a wait that is slow on a loaded machine keeps moving, a stuck one does not.
 * @param check The check; what it throws fails the wait at once.
 * @param progress What has been done so far, as a key that changes when anything moves.
 * @param stallMs The longest stretch without progress.
 * @param maxMs The bound in all.
 * @param what What is waited for, for the error.
 * @param intervalMs The pause between checks.
 * @returns The check's value.
 */
export async function waitWhileProgressing<T>(
	check: () => T | Promise<T>,
	progress: () => string,
	stallMs: number,
	maxMs: number,
	what: string,
	intervalMs = 10
): Promise<Exclude<T, undefined | false>> {
	const started = Date.now();
	let key = progress();
	let movedAt = started;
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) {
			return value as Exclude<T, undefined | false>;
		}
		const now = Date.now();
		const next = progress();
		if (next !== key) {
			key = next;
			movedAt = now;
		}
		if (now - movedAt > stallMs) {
			throw new Error(`Nothing moved for ${stallMs} ms waiting for ${what} (at ${key})`);
		}
		if (now - started > maxMs) {
			throw new Error(`Timed out after ${maxMs} ms waiting for ${what} (at ${key})`);
		}
		await new Promise(resolve => setTimeout(resolve, intervalMs));
	}
}

/**
 * Read an execution log.
 * @param file The log.
 * @returns Its lines, in order.
 */
export function readRuns(file: string): IRun[] {
	if (!existsSync(file)) {
		return [];
	}
	return readFileSync(file, "utf8")
		.split("\n")
		.filter(line => line.length > 0)
		.map(line => {
			const [key, node, pid, kind, t] = line.split(" ");
			return { key, node, pid: Number(pid), kind: kind as IRun["kind"], t: Number(t) };
		});
}

/**
 * The runs of each key, in log order.
 * @param runs The log.
 * @returns Runs by key.
 */
export function byKey(runs: IRun[]): Map<string, IRun[]> {
	const map = new Map<string, IRun[]>();
	for (const run of runs) {
		let list = map.get(run.key);
		if (!list) {
			list = [];
			map.set(run.key, list);
		}
		list.push(run);
	}
	return map;
}

/**
 * The keys a process started and did not end (its runs in flight when it was killed).
 * @param runs The log.
 * @param pid The process.
 * @returns The keys.
 */
export function inFlight(runs: IRun[], pid: number): string[] {
	const open = new Set<string>();
	for (const run of runs) {
		if (run.pid === pid) {
			if (run.kind === "start") {
				open.add(run.key);
			} else {
				open.delete(run.key);
			}
		}
	}
	return [...open];
}

/**
 * Wait (bounded) until no task of the table is pending or processing, and at least `count` rows
 * exist. The wait fails when the counts have not changed for timeoutMs, or after three times
 * that in all (a loaded machine is slow, not stuck). On a timeout the error says what is left:
 * the unfinished rows and what each live node holds (its diag answer).
 * @param mn The test's accessors.
 * @param count The rows expected at least.
 * @param timeoutMs The longest stretch without a change in the counts.
 * @param nodes Nodes that must stay alive meanwhile.
 * @returns The counts by status.
 */
export async function waitForAllFinal(
	mn: IMultinode,
	count: number,
	timeoutMs: number,
	nodes: INode[] = []
): Promise<{ [status: string]: number }> {
	let last: { [status: string]: number } = {};
	try {
		return await waitWhileProgressing(
			async () => {
				for (const node of nodes) {
					if (node.process.exitCode !== null || node.process.signalCode !== null) {
						throw new Error(
							`node ${node.name} exited (${node.process.exitCode ?? node.process.signalCode}): ${node.stderr()} ${JSON.stringify(node.events.slice(-5))}`
						);
					}
				}
				last = await mn.statusCounts();
				const total = Object.values(last).reduce((a, b) => a + b, 0);
				return total >= count && !last.pending && !last.processing ? last : undefined;
			},
			() => JSON.stringify(last),
			timeoutMs,
			3 * timeoutMs,
			`every task of ${count} to be final`,
			100
		);
	} catch (err) {
		const unfinished = (await mn.rows().catch(() => []))
			.filter(r => r.status === "pending" || r.status === "processing")
			.slice(0, 10)
			.map(r => ({
				k: r.k,
				id: r.id,
				status: r.status,
				owner: r.leaseOwner,
				leaseEndsInMs: r.leaseExpires === null ? null : r.leaseExpires - Date.now()
			}));
		const diag = await diagnose(nodes);
		// The handler runs of the unfinished tasks, and what each node warned of last.
		const keys = new Set(unfinished.map(u => u.k));
		const runs = mn.runs().filter(r => keys.has(r.key));
		const warnings = Object.fromEntries(
			nodes.map(n => [
				n.name,
				n
					.logs()
					.slice(-10)
					.map(e => ({ t: e.ts, message: e.message, data: e.data }))
			])
		);
		throw new Error(
			`${(err as Error).message}; statuses: ${JSON.stringify(last)}; unfinished (first 10): ` +
				`${JSON.stringify(unfinished)}; their runs: ${JSON.stringify(runs)}; nodes: ` +
				`${JSON.stringify(diag)}; last warnings: ${JSON.stringify(warnings)}`
		);
	}
}

/**
 * Ask live nodes what they hold (the diag command), waiting a moment for the answers; a node that
 * does not answer (its event loop blocked) is reported as such.
 * @param nodes The nodes.
 * @returns Each node's answer.
 */
export async function diagnose(nodes: INode[]): Promise<{ [node: string]: unknown }> {
	const alive = nodes.filter(n => n.process.exitCode === null && n.process.signalCode === null);
	const before = new Map(alive.map(n => [n, n.events.length]));
	for (const node of alive) {
		node.send({ cmd: "diag" });
	}
	const answer = (node: INode): INodeEvent | undefined =>
		node.events.slice(before.get(node)).find(e => e.event === "diag");
	await waitFor(() => alive.every(n => answer(n)), 1000, "diag answers").catch(() => undefined);
	return Object.fromEntries(
		nodes.map(n => [
			n.name,
			before.has(n)
				? (answer(n) ?? "no answer within 1 s (event loop blocked?)")
				: `exited ${n.process.exitCode ?? n.process.signalCode}`
		])
	);
}

/**
 * Start a node process (tests/fixtures/node-child.mjs) and follow what it prints.
 * @param name The node's name.
 * @param childSpec The child's spec (see the header of node-child.mjs).
 * @returns The node; the caller kills it when the test ends.
 */
export function startNodeProcess(name: string, childSpec: { [key: string]: unknown }): INode {
	const execArgs = process.env.MULTINODE_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
	const child = spawn(process.execPath, [...execArgs, CHILD, JSON.stringify(childSpec)], {
		stdio: ["pipe", "pipe", "pipe"],
		timeout: CHILD_TIMEOUT_MS,
		killSignal: "SIGKILL"
	});
	const events: INodeEvent[] = [];
	let out = "";
	let err = "";
	child.stdout?.on("data", (chunk: Buffer) => {
		out += chunk.toString();
		let nl = out.indexOf("\n");
		while (nl >= 0) {
			const line = out.slice(0, nl);
			out = out.slice(nl + 1);
			try {
				events.push(JSON.parse(line) as INodeEvent);
			} catch {
				events.push({ event: "unparsed", line });
			}
			nl = out.indexOf("\n");
		}
	});
	child.stderr?.on("data", (chunk: Buffer) => {
		err += chunk.toString();
	});
	// A node that was killed has a closed stdin: writing to it must not fail the test.
	child.stdin?.on("error", () => {});
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
		child.on("exit", (code, signal) => resolve({ code, signal }))
	);
	let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
	void exited.then(e => (exit = e));
	const describeNode = (): string =>
		`node ${name} (pid ${child.pid}) exited ${JSON.stringify(exit)}; stderr: ${err}; ` +
		`last lines: ${JSON.stringify(events.slice(-5))}`;

	const node: INode = {
		name: name,
		process: child,
		events,
		exited,
		stderr: () => err,
		waitForEvent: async (match, timeoutMs, what) => {
			let from = 0;
			const waiting = waitWhileProgressing(
				() => {
					for (; from < events.length; from++) {
						if (match(events[from])) {
							return events[from];
						}
					}
					if (exit) {
						throw new Error(`waiting for ${what}: ${describeNode()}`);
					}
					return undefined;
				},
				() => `${events.length} lines`,
				timeoutMs,
				3 * timeoutMs,
				`${what} from node ${name}`
			);
			// A node that is alive but silent says what it holds and which creates are in flight.
			return waiting.catch(async (error: Error) => {
				if (exit) {
					throw error;
				}
				const diag = await diagnose([node]);
				throw new Error(`${error.message}: ${describeNode()}; diag: ${JSON.stringify(diag)}`);
			});
		},
		send: command => {
			child.stdin?.write(`${JSON.stringify(command)}\n`);
		},
		stop: async (timeoutMs = 15000) => {
			node.send({ cmd: "stop" });
			return waitFor(() => exit, timeoutMs, `node ${name} to exit after stop`);
		},
		kill: async () => {
			const at = Date.now();
			child.kill("SIGKILL");
			await exited;
			return at;
		},
		logs: message =>
			events.filter(e => e.event === "log" && (message === undefined || e.message === message))
	};
	return node;
}
