// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Multi-node PostgreSQL jobs: node processes (pgNode.mjs, children of the job's process) on one
// table (native backend) or one schema (graphile-worker, for reference).
// - latency: node A (this process) creates one task at a time; node B, started and idle in another
//   process, runs it. Measured from just before create()/addJob() on A to the handler's start on B
//   (epoch microseconds from performance.timeOrigin + now() in each process), then a gap.
// - scaling: a backlog of tasks whose handler sleeps 20 ms, processed by 1, 2, 4 or 8 node
//   processes, concurrency 8 each (inline mode for our connector: the handler is asynchronous, so
//   eight run at once on a node's main thread); timed from "go" to the last completion, confirmed
//   in SQL. Every task must run exactly once across the nodes.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NODE, percentile, sleep } from "./common.mjs";
import { notAvailable } from "./pgConnectorJobs.mjs";
import {
	adminSql,
	benchPostgres,
	cloneBacklog,
	CpuMeter,
	FINAL_STATUSES,
	nowUs,
	settleServer,
	tally,
	uniqueName,
	waitForAsync
} from "./pgCommon.mjs";
import { addBacklog, graphileContext, graphileSettings, jobsLeft } from "./pgGraphile.mjs";
import { constructNative, nativeConfig } from "./pgNative.mjs";

const NODE_ENTRY = fileURLToPath(new URL("./pgNode.mjs", import.meta.url));

/**
 * A group of node processes.
 */
class NodeGroup {
	/**
	 * Fork the node processes.
	 * @param {number} count How many.
	 * @param {object} options Their options (pgNode.mjs), nodeIndex added.
	 */
	constructor(count, options) {
		this.progress = new Array(count).fill(0);
		this.finals = new Array(count);
		this.stampWaiters = new Map();
		this.stamps = new Map();
		let fail;
		this.failed = new Promise((_, reject) => {
			fail = reject;
		});
		this.failed.catch(() => {});
		this.readyCount = 0;
		let allReady;
		this.allReady = new Promise(resolve => {
			allReady = resolve;
		});
		this.children = Array.from({ length: count }, (_, k) => {
			const child = fork(NODE_ENTRY, [JSON.stringify({ ...options, nodeIndex: k })], {
				stdio: ["ignore", "inherit", "inherit", "ipc"],
				execArgv: []
			});
			child.on("message", message => {
				switch (message.type) {
					case "ready":
						if (++this.readyCount === count) {
							allReady();
						}
						break;
					case "progress":
						this.progress[k] = message.done;
						break;
					case "stamp": {
						const waiter = this.stampWaiters.get(message.i);
						if (waiter) {
							this.stampWaiters.delete(message.i);
							waiter(message.at);
						} else {
							this.stamps.set(message.i, message.at);
						}
						break;
					}
					case "final":
						this.finals[k] = message;
						break;
					case "error":
						fail(new Error(`node ${k}: ${message.error}`));
						break;
				}
			});
			child.on("exit", code => {
				if (!this.finals[k]) {
					fail(new Error(`node ${k} exited (code ${code}) before reporting`));
				}
			});
			return child;
		});
	}

	/**
	 * Wait for a promise unless a node fails first, within a bound.
	 * @template T
	 * @param {Promise<T>} promise The promise.
	 * @param {number} timeoutMs The bound.
	 * @param {string} what For the error.
	 * @returns {Promise<T>} Its value.
	 */
	async guard(promise, timeoutMs, what) {
		let timer;
		const timeout = new Promise((_, reject) => {
			timer = setTimeout(
				() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
				timeoutMs
			);
		});
		try {
			return await Promise.race([promise, this.failed, timeout]);
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * @returns {Promise<void>} Resolves when every node is ready.
	 */
	ready() {
		return this.guard(this.allReady, 60_000, "the node processes to start");
	}

	/**
	 * Tell every node to begin.
	 */
	go() {
		for (const child of this.children) {
			child.send({ type: "go" });
		}
	}

	/**
	 * @returns {number} Tasks finished, as last reported by the nodes.
	 */
	done() {
		return this.progress.reduce((a, b) => a + b, 0);
	}

	/**
	 * The start time of sample i on the node that ran it.
	 * @param {number} i The sample.
	 * @returns {Promise<number>} Epoch microseconds.
	 */
	stampOf(i) {
		const early = this.stamps.get(i);
		if (early !== undefined) {
			this.stamps.delete(i);
			return Promise.resolve(early);
		}
		return this.guard(
			new Promise(resolve => this.stampWaiters.set(i, resolve)),
			30_000,
			`sample ${i} to start`
		);
	}

	/**
	 * Stop every node and collect its report; wait for the processes to exit.
	 * @returns {Promise<{ counts: number[], cpuUs: number, done: number }[]>} The reports.
	 */
	async stop() {
		const exited = this.children.map(
			child =>
				new Promise(resolve => {
					if (child.exitCode !== null || child.signalCode !== null) {
						resolve();
					} else {
						child.once("exit", resolve);
					}
				})
		);
		for (const child of this.children) {
			child.send({ type: "stop" });
		}
		await this.guard(Promise.all(exited), 60_000, "the node processes to stop and exit");
		return this.finals;
	}

	/**
	 * Kill the node processes still alive (after a failure).
	 */
	kill() {
		for (const child of this.children) {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill("SIGKILL");
			}
		}
	}
}

/**
 * Unfinished tasks of a type in a native table.
 * @param {import("postgres").Sql} sql The admin client.
 * @param {string} table The table.
 * @param {string} type The type.
 * @returns {Promise<number>} The count.
 */
async function unfinished(sql, table, type) {
	const [row] = await sql.unsafe(
		`SELECT count(*)::int AS c FROM "${table}" WHERE "type" = $1 AND NOT ("status" = ANY($2::text[]))`,
		[type, FINAL_STATUSES]
	);
	return row.c;
}

/**
 * The runs of each task summed over the nodes' reports, and the tasks each node ran.
 * @param {{ counts: number[] }[]} finals The reports.
 * @param {number} n The tasks.
 * @returns {{ counts: number[], perNode: number[] }} The sums.
 */
function combine(finals, n) {
	const counts = new Array(n).fill(0);
	const perNode = finals.map(f => {
		let ran = 0;
		for (let i = 0; i < n; i++) {
			counts[i] += f.counts[i] ?? 0;
			ran += f.counts[i] ?? 0;
		}
		return ran;
	});
	return { counts, perNode };
}

/**
 * The cross-node latency job.
 * @param {{ peer: "native" | "graphile", samples: number, warmup: number, gapMs: number, concurrency: number }} params
 *   The parameters.
 * @returns {Promise<object>} The result.
 */
export async function crossNodeLatency(params) {
	const total = params.warmup + params.samples;
	const server = benchPostgres();
	let create;
	let cleanup;
	let nodeOptions;
	if (params.peer === "native") {
		const table = uniqueName("bg_native");
		const { connector, notAvailable: reason } = constructNative(
			{ executionMode: "inline", concurrency: params.concurrency },
			nativeConfig(server, table)
		);
		if (reason) {
			return notAvailable(reason);
		}
		const sql = adminSql(server, server.databases.native);
		// Node A: started (it creates the table), no handler for the type: it only creates.
		await connector.start(NODE);
		create = i => connector.create("stamp", { i }, { retainFor: 0 });
		cleanup = async () => {
			await connector.stop(NODE);
			await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
			await sql.end({ timeout: 5 });
		};
		nodeOptions = { peer: "native", role: "latency", table };
	} else {
		const ctx = await graphileContext();
		create = i => ctx.utils.addJob("stamp", { i });
		cleanup = () => ctx.close();
		nodeOptions = { peer: "graphile", role: "latency", schema: ctx.schema };
	}
	const group = new NodeGroup(1, { ...nodeOptions, n: total, concurrency: params.concurrency });
	try {
		await group.ready();
		await sleep(100);
		const toStart = [];
		const toCreated = [];
		for (let i = 0; i < total; i++) {
			const before = nowUs();
			const started = group.stampOf(i);
			await create(i);
			const created = nowUs();
			const at = await started;
			if (i >= params.warmup) {
				toStart.push((at - before) / 1000);
				toCreated.push((created - before) / 1000);
			}
			await sleep(params.gapMs);
		}
		const [final] = await group.stop();
		const t = tally(final.counts, total);
		toStart.sort((a, b) => a - b);
		toCreated.sort((a, b) => a - b);
		return {
			metrics: {
				available: 1,
				p50Ms: percentile(toStart, 50),
				p90Ms: percentile(toStart, 90),
				p99Ms: percentile(toStart, 99),
				maxMs: toStart[toStart.length - 1],
				createP50Ms: percentile(toCreated, 50),
				createP99Ms: percentile(toCreated, 99),
				...t
			},
			checks: {
				everySampleRanOnce: t.ranOnce === total,
				everySampleStamped: toStart.every(v => Number.isFinite(v) && v > 0)
			}
		};
	} finally {
		group.kill();
		await cleanup();
	}
}

/**
 * The multi-node scaling job.
 * @param {{ peer: "native" | "graphile", nodes: number, n: number, ms: number, concurrency: number }} params
 *   The parameters.
 * @returns {Promise<object>} The result.
 */
export async function multiNodeScaling(params) {
	const server = benchPostgres();
	let cleanup;
	let nodeOptions;
	let left;
	let settle;
	if (params.peer === "native") {
		const table = uniqueName("bg_native");
		const { connector, notAvailable: reason } = constructNative(
			{ executionMode: "inline", concurrency: params.concurrency },
			nativeConfig(server, table)
		);
		if (reason) {
			return notAvailable(reason);
		}
		const sql = adminSql(server, server.databases.native);
		cleanup = async () => {
			await sql.unsafe(`DROP TABLE IF EXISTS "${table}"`);
			await sql.end({ timeout: 5 });
		};
		// The coordinator creates the table (start) and the template task, then leaves.
		await connector.start(NODE);
		await connector.create("sleep", { i: 0, ms: params.ms }, { retainFor: 0 });
		await connector.stop(NODE);
		const [template] = await sql.unsafe(`SELECT "id" FROM "${table}" WHERE "type" = 'sleep'`);
		await cloneBacklog(sql, table, template.id, 1, params.n - 1, { ms: params.ms });
		settle = () => settleServer(sql, `"${table}"`);
		left = () => unfinished(sql, table, "sleep");
		nodeOptions = { peer: "native", role: "scaling", table };
	} else {
		const ctx = await graphileContext();
		cleanup = () => ctx.close();
		await addBacklog(ctx, "sleep", 0, params.n, 1000, { ms: params.ms });
		settle = () => settleServer(ctx.admin, `${ctx.schema}._private_jobs`);
		left = () => jobsLeft(ctx);
		nodeOptions = {
			peer: "graphile",
			role: "scaling",
			schema: ctx.schema,
			localQueueSize: params.concurrency + 1
		};
	}
	const group = new NodeGroup(params.nodes, {
		...nodeOptions,
		n: params.n,
		concurrency: params.concurrency
	});
	try {
		await group.ready();
		await settle();
		const meter = new CpuMeter(server.postmasterPid);
		meter.start();
		group.go();
		await group.guard(
			waitForAsync(async () => group.done() >= params.n, 600_000, "the backlog", 2),
			600_000,
			"the backlog"
		);
		await waitForAsync(async () => (await left()) === 0, 60_000, "the last completions");
		const end = meter.snapshot();
		const finals = await group.stop();
		const nodeCpuUs = finals.reduce((sum, f) => sum + f.cpuUs, 0);
		const { counts, perNode } = combine(finals, params.n);
		const t = tally(counts, params.n);
		return {
			metrics: {
				available: 1,
				...meter.result(end, params.n, nodeCpuUs),
				minNodeShare: Math.min(...perNode) / params.n,
				maxNodeShare: Math.max(...perNode) / params.n,
				...t
			},
			checks: { everyTaskRanOnce: t.ranOnce === params.n },
			info: {
				tasksPerNode: perNode,
				graphileWorker:
					params.peer === "graphile"
						? graphileSettings(params.concurrency, params.concurrency + 1)
						: undefined
			}
		};
	} finally {
		group.kill();
		await cleanup();
	}
}
