// `npm start -- --store postgres --nodes <n>`: n node processes (node.mjs, children of the demo)
// on one PostgreSQL table with the native backend (config.postgresql). The demo starts them,
// has each create its share of the tasks (so tasks created on one node run on any), renders each
// node's progress as it reports it over IPC (bars on a terminal, a line a second otherwise), stops
// them when every task of the run is final in the table, and checks two things:
//
// - none lost: every task a node created is in the table, in a final state (unless interrupted);
// - none ran twice: every handler execution appended a line to its node's execution log (written
//   by the handler itself, nodeHandlers.mjs, not by the connector). Per task, the executions must
//   be one per attempt (1 + the retries the nodes scheduled for it; a flaky attempt that fails is
//   retried, which is not a second run), at most one may succeed, none after a success, and no two
//   may overlap in time (no attempt ran on two nodes at once).
//
// Ctrl-C stops the nodes gracefully (each waits for its running tasks), then summarises.
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOG_ENV, NODE_ENV } from "./nodeHandlers.mjs";
import { duration, percentile } from "./stats.mjs";
import { handlerTypes } from "./types.mjs";

/**
 * The node process script.
 */
const NODE_ENTRY = fileURLToPath(new URL("./node.mjs", import.meta.url));

/**
 * Exit code after a graceful Ctrl-C (128 + SIGINT).
 */
const INTERRUPTED_EXIT_CODE = 130;

/**
 * Exit code when a check failed (a task lost or run twice) or a node failed.
 */
const FAILED_EXIT_CODE = 1;

/**
 * How long a node's stop() waits for its running tasks, ms.
 */
const SHUTDOWN_TIMEOUT_MS = 5000;

/**
 * The final statuses.
 */
const FINAL = ["success", "failed", "cancelled"];

/**
 * The node processes and what they reported.
 */
class Nodes {
	/**
	 * Fork the node processes.
	 * @param {number} count How many.
	 * @param {(k: number) => object} optionsOf The options of node k (from 1).
	 * @param {(k: number) => string} logOf The execution log file of node k.
	 */
	constructor(count, optionsOf, logOf) {
		this.count = count;
		this.pids = new Array(count).fill(0);
		this.progress = Array.from({ length: count }, () => ({ created: 0, started: 0, running: 0 }));
		this.created = new Array(count).fill(false);
		this.finals = new Array(count);
		this.onProgress = () => {};
		let fail;
		this.failed = new Promise((_, reject) => {
			fail = reject;
		});
		this.failed.catch(() => {});
		let ready = 0;
		let allReady;
		this.ready = new Promise(resolve => {
			allReady = resolve;
		});
		let allCreated;
		this.allCreated = new Promise(resolve => {
			allCreated = resolve;
		});
		this.exited = [];
		this.children = Array.from({ length: count }, (_, i) => {
			const k = i + 1;
			const child = fork(NODE_ENTRY, [JSON.stringify(optionsOf(k))], {
				stdio: ["ignore", "inherit", "inherit", "ipc"],
				env: { ...process.env, [LOG_ENV]: logOf(k), [NODE_ENV]: String(k) },
				execArgv: []
			});
			// Gone: exited, and its IPC channel closed (so every message it sent has arrived).
			const gone = Promise.all([
				new Promise(resolve => child.once("exit", (code, signal) => resolve({ code, signal }))),
				new Promise(resolve => child.once("disconnect", resolve))
			]).then(([exit]) => exit);
			this.exited.push(gone);
			child.on("message", message => {
				switch (message.type) {
					case "ready":
						this.pids[i] = message.pid;
						if (++ready === count) {
							allReady();
						}
						break;
					case "progress":
						this.progress[i] = message.counts;
						this.onProgress();
						break;
					case "created":
						this.created[i] = true;
						if (this.created.every(Boolean)) {
							allCreated();
						}
						break;
					case "final":
						this.finals[i] = message;
						this.progress[i] = message.counts;
						break;
					case "error":
						fail(new Error(`node ${k} failed: ${message.message}`));
						break;
					default:
						break;
				}
			});
			void gone.then(({ code, signal }) => {
				if (!this.finals[i]) {
					fail(
						new Error(
							`node ${k} (pid ${child.pid}) exited before reporting (${signal ?? `code ${code}`})`
						)
					);
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
	 * @param {string} what What is waited for, for the error.
	 * @returns {Promise<T>} Its value.
	 */
	async guard(promise, timeoutMs, what) {
		let timer;
		const timeout = new Promise((_, reject) => {
			timer = setTimeout(
				() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)),
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
	 * Send a message to every node still connected.
	 * @param {object} message The message.
	 */
	tell(message) {
		for (const child of this.children) {
			if (child.connected) {
				child.send(message);
			}
		}
	}

	/**
	 * Tasks of the run in a final state, as the nodes last reported.
	 * @returns {number} The count.
	 */
	finished() {
		return this.progress.reduce((sum, p) => sum + (p.success ?? 0) + (p.failed ?? 0), 0);
	}

	/**
	 * Kill the nodes still alive.
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
 * A fixed-width text table: first column left-aligned, the others right-aligned.
 * @param {string[]} header The header.
 * @param {string[][]} rows The rows.
 * @returns {string} The table.
 */
function textTable(header, rows) {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
	const line = cells =>
		cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
	return [line(header), widths.map(w => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Read the execution logs of the run: per task key, its executions in start order.
 * @param {string[]} files The log files.
 * @param {string} run The run id.
 * @returns {{ byKey: Map<string, { node: number, pid: number, start: number, end: number, ok: boolean }[]>,
 *   perNode: Map<number, number>, total: number }} The executions.
 */
function readExecutions(files, run) {
	const byKey = new Map();
	const perNode = new Map();
	let total = 0;
	for (const file of files) {
		if (!existsSync(file)) {
			continue;
		}
		for (const text of readFileSync(file, "utf8").split("\n")) {
			if (text.trim() === "") {
				continue;
			}
			const line = JSON.parse(text);
			if (typeof line.key !== "string" || !line.key.startsWith(`${run}:`)) {
				continue;
			}
			total++;
			perNode.set(line.node, (perNode.get(line.node) ?? 0) + 1);
			const list = byKey.get(line.key) ?? [];
			list.push(line);
			byKey.set(line.key, list);
		}
	}
	for (const list of byKey.values()) {
		list.sort((a, b) => a.start - b.start);
	}
	return { byKey, perNode, total };
}

/**
 * Check every task of the run against its executions.
 * @param {{ id: string, key: string, status: string }[]} rows The run's rows in the table.
 * @param {Map<string, object[]>} executions Executions per key.
 * @param {Map<string, [number, number]>} attempts Per task id, attempts started and retries
 *   scheduled, over every node.
 * @returns {{ twice: string[], missing: string[], retries: number }} Descriptions of the tasks that
 *   ran more often than their attempts, of those with an attempt and no logged execution, and the
 *   retries over all tasks.
 */
function checkExecutions(rows, executions, attempts) {
	const twice = [];
	const missing = [];
	let retries = 0;
	for (const row of rows) {
		const runs = executions.get(row.key) ?? [];
		const [started, retried] = attempts.get(row.id) ?? [0, 0];
		retries += retried;
		const final = FINAL.includes(row.status);
		// One execution per attempt: each retry scheduled follows a failed one, and a final task
		// had one last attempt. A task left processing (interrupted) may have one more running.
		const expected = retried + (final ? 1 : 0);
		const allowed = row.status === "processing" ? retried + 1 : expected;
		const successes = runs.filter(r => r.ok).length;
		const firstSuccess = runs.findIndex(r => r.ok);
		const afterSuccess = firstSuccess >= 0 && firstSuccess < runs.length - 1;
		const overlap = runs.some((r, i) => i > 0 && r.start < runs[i - 1].end);
		const where = runs.map(r => `node ${r.node} ${r.ok ? "ok" : "failed"}`).join(", ");
		if (runs.length > allowed || successes > 1 || afterSuccess || overlap) {
			twice.push(
				`${row.id} (${row.status}): ${runs.length} executions [${where}] for ${started} attempts started, ${retried} retries`
			);
		} else if (runs.length < expected || (row.status === "success" && successes !== 1)) {
			missing.push(
				`${row.id} (${row.status}): ${runs.length} executions logged [${where}], ${retried} retries`
			);
		}
	}
	return { twice, missing, retries };
}

/**
 * Run the demo's nodes.
 * @param {object} options The demo options (parseOptions), with nodes set.
 * @param {import("./server.mjs").IDemoServer} server The PostgreSQL server.
 * @param {(text?: string) => void} say Prints a line.
 * @returns {Promise<number>} The exit code.
 */
export async function runNodes(options, server, say) {
	const [{ default: cliProgress }, { default: postgres }] = await Promise.all([
		import("cli-progress"),
		import("postgres")
	]);
	const tty = Boolean(process.stdout.isTTY);
	const n = options.nodes;
	const run = randomUUID();
	const database = server.database === "" ? server.user : server.database;
	const postgresql = {
		host: server.host,
		port: server.port,
		user: server.user,
		password: server.password,
		database,
		tableName: options.table
	};
	const types = handlerTypes(options, true);
	const workers = options.workers ?? types.reduce((sum, t) => sum + t.concurrency, 0);
	const logDir = mkdtempSync(join(tmpdir(), "twin-demo-executions-"));
	const logOf = k => join(logDir, `node-${k}.jsonl`);
	const removeLogs = () => rmSync(logDir, { recursive: true, force: true });
	// Also when the demo is ended from outside (its server's SIGTERM handler exits).
	process.once("exit", removeLogs);

	say(
		`Background task demo: ${n} node processes on PostgreSQL ${server.host}:${server.port}, ` +
			`database ${database}, table ${options.table} (native backend, config.postgresql), ` +
			`${workers} worker threads each`
	);
	for (const note of server.notes) {
		say(`  ${note}`);
	}

	const sql = postgres({
		host: server.host,
		port: server.port,
		user: server.user,
		password: server.password,
		database,
		max: 1,
		onnotice: () => {},
		connect_timeout: 10
	});
	const nodes = new Nodes(
		n,
		k => ({
			node: k,
			run,
			postgresql,
			workers,
			slowConcurrency: options.slowConcurrency,
			failRate: options.failRate,
			shutdownTimeout: SHUTDOWN_TIMEOUT_MS
		}),
		logOf
	);

	let interrupted = false;
	let resolveInterrupt;
	const interrupt = new Promise(resolve => {
		resolveInterrupt = resolve;
	});
	let bars;
	const onSigint = () => {
		if (interrupted) {
			bars?.stop();
			say("\nStopped without waiting: the nodes were killed.");
			nodes.kill();
			process.exit(INTERRUPTED_EXIT_CODE);
		}
		interrupted = true;
		resolveInterrupt("interrupted");
	};
	process.on("SIGINT", onSigint);
	// Ended from outside: exit, so that the exit handlers remove the logs (and an own server); the
	// nodes stop when their IPC channel closes.
	const onSigterm = () => process.exit(143);
	process.once("SIGTERM", onSigterm);

	let ticker;
	try {
		await nodes.guard(nodes.ready, 60_000, "the node processes to start");
		say(
			`Started ${n} node processes (pid ${nodes.pids.join(", ")}), each a connector with ` +
				"config.postgresql on the same table."
		);

		// Each node creates its share, all at once: a task created on one node runs on any.
		const shares = Array.from(
			{ length: n },
			(_, i) => Math.floor(options.tasks / n) + (i < options.tasks % n ? 1 : 0)
		);
		const runStart = Date.now();
		let offset = 0;
		nodes.children.forEach((child, i) => {
			child.send({ type: "create", offset, count: shares[i] });
			offset += shares[i];
		});

		const label = k => `node ${String(k).padStart(2)}`;
		if (tty) {
			bars = new cliProgress.MultiBar(
				{
					format:
						" {label} [{bar}] {value} done | {running} running | {retries} retries | {created} created",
					barsize: 16,
					hideCursor: true,
					clearOnComplete: false,
					fps: 10
				},
				cliProgress.Presets.shades_classic
			);
		}
		const nodeBars = nodes.progress.map((_, i) =>
			bars?.create(options.tasks, 0, {
				label: label(i + 1),
				created: 0,
				running: 0,
				retries: 0,
				failed: 0,
				fromOthers: 0
			})
		);
		const allBar = bars?.create(options.tasks, 0, {
			label: "all    ",
			created: 0,
			running: 0,
			retries: 0,
			failed: 0,
			fromOthers: 0
		});
		const render = () => {
			let created = 0;
			let running = 0;
			let retries = 0;
			let failed = 0;
			let fromOthers = 0;
			nodes.progress.forEach((p, i) => {
				const done = (p.success ?? 0) + (p.failed ?? 0);
				nodeBars[i]?.update(done, {
					created: p.created ?? 0,
					running: p.running ?? 0,
					retries: p.retries ?? 0,
					failed: p.failed ?? 0,
					fromOthers: p.fromOthers ?? 0
				});
				created += p.created ?? 0;
				running += p.running ?? 0;
				retries += p.retries ?? 0;
				failed += p.failed ?? 0;
				fromOthers += p.fromOthers ?? 0;
			});
			allBar?.update(nodes.finished(), { created, running, retries, failed, fromOthers });
		};
		nodes.onProgress = render;

		// Plain output: a line a second while something changes.
		let lastLine = "";
		const plainLine = () => {
			const parts = nodes.progress.map(
				(p, i) =>
					`${label(i + 1).trim()} ${(p.success ?? 0) + (p.failed ?? 0)} finished, ${p.running ?? 0} running`
			);
			const line = `${parts.join(" | ")} | all ${nodes.finished()}/${options.tasks}`;
			if (line !== lastLine) {
				lastLine = line;
				say(`  ${((Date.now() - runStart) / 1000).toFixed(1).padStart(5)} s  ${line}`);
			}
		};
		if (!tty) {
			ticker = setInterval(plainLine, 1000);
		}

		const created = await nodes.guard(
			Promise.race([nodes.allCreated.then(() => "created"), interrupt]),
			600_000,
			"the tasks to be created"
		);
		if (created === "created" && !tty) {
			say(
				`Created ${options.tasks} tasks across ${n} nodes (${shares.join(" + ")}) in ` +
					`${Date.now() - runStart} ms`
			);
		}

		// Done when every task of the run is final in the table (the authority), checked when the
		// nodes' reports say so, and every 2 s in any case.
		const remaining = async () => {
			const [row] = await sql.unsafe(
				`SELECT count(*)::int AS "final" FROM "${options.table}"
				WHERE "payload"->>'run' = $1 AND "status" = ANY($2::text[])`,
				[run, FINAL]
			);
			return options.tasks - row.final;
		};
		const finished = async () => {
			let checked = 0;
			while (!interrupted) {
				const due = nodes.finished() >= options.tasks || Date.now() - checked > 2000;
				if (due) {
					checked = Date.now();
					if ((await remaining()) === 0) {
						return "finished";
					}
				}
				await new Promise(resolve => setTimeout(resolve, 100));
			}
			return "interrupted";
		};
		const outcome =
			created === "created"
				? await nodes.guard(Promise.race([finished(), interrupt]), 3_600_000, "the tasks")
				: "interrupted";
		clearInterval(ticker);
		render();
		bars?.stop();
		if (!tty && outcome === "finished") {
			plainLine();
		}
		if (outcome === "interrupted") {
			say(
				`\nCtrl-C: stopping the nodes, each waiting up to ${SHUTDOWN_TIMEOUT_MS / 1000} s for its running tasks...`
			);
		}

		nodes.tell({ type: "stop" });
		await nodes.guard(
			Promise.all(nodes.exited),
			SHUTDOWN_TIMEOUT_MS + 30_000,
			"the nodes to stop and exit"
		);
		const elapsed = Date.now() - runStart;

		// The evidence: the table, the handlers' execution logs, the nodes' own accounts.
		const createdIds = new Set(nodes.finals.flatMap(f => f.createdIds));
		const rows = await sql.unsafe(
			`SELECT "id", "status", "payload"->>'key' AS "key" FROM "${options.table}"
			WHERE "payload"->>'run' = $1`,
			[run]
		);
		const inTable = new Set(rows.map(r => r.id));
		const lost = [...createdIds].filter(id => !inTable.has(id));
		const byStatus = status => rows.filter(r => r.status === status).length;
		const unfinished = rows.filter(r => !FINAL.includes(r.status)).length;
		const attempts = new Map();
		for (const final of nodes.finals) {
			for (const [id, [started, retried]] of final.perTask) {
				const sum = attempts.get(id) ?? [0, 0];
				attempts.set(id, [sum[0] + started, sum[1] + retried]);
			}
		}
		const executions = readExecutions(
			Array.from({ length: n }, (_, i) => logOf(i + 1)),
			run
		);
		const { twice, missing, retries } = checkExecutions(rows, executions.byKey, attempts);

		say();
		say(
			`Summary: ${outcome} after ${(elapsed / 1000).toFixed(1)} s, ${n} nodes, table ${options.table}`
		);
		const nodeRows = nodes.finals.map((f, i) => {
			const c = f.counts;
			return [
				String(i + 1),
				String(nodes.pids[i]),
				String(c.created),
				String(c.started),
				String(executions.perNode.get(i + 1) ?? 0),
				String(c.success),
				String(c.failed),
				String(c.retries),
				String(c.fromOthers),
				duration(percentile(f.latencies, 50)),
				duration(percentile(f.latencies, 99))
			];
		});
		const sum = key => nodes.finals.reduce((total, f) => total + f.counts[key], 0);
		const allLatencies = nodes.finals.flatMap(f => f.latencies);
		nodeRows.push([
			"all",
			"",
			String(sum("created")),
			String(sum("started")),
			String(executions.total),
			String(sum("success")),
			String(sum("failed")),
			String(sum("retries")),
			String(sum("fromOthers")),
			duration(percentile(allLatencies, 50)),
			duration(percentile(allLatencies, 99))
		]);
		say(
			textTable(
				[
					"node",
					"pid",
					"created",
					"attempts",
					"executions",
					"success",
					"failed",
					"retries",
					"from other nodes",
					"p50 start",
					"p99 start"
				],
				nodeRows
			)
		);
		// What the connector itself reports (getStatistics on each node just before it stopped).
		const first = nodes.finals.find(f => f.statistics)?.statistics;
		if (first) {
			const totals = {};
			for (const counts of Object.values(first.types)) {
				for (const [status, count] of Object.entries(counts)) {
					totals[status] = (totals[status] ?? 0) + count;
				}
			}
			say(
				`getStatistics(): the table held ${Object.entries(totals)
					.map(([status, count]) => `${count} ${status}`)
					.join(", ")} when the first node stopped`
			);
			for (const [i, f] of nodes.finals.entries()) {
				const st = f.statistics;
				if (st) {
					say(
						`  node ${i + 1}: ${st.completedLastMinute} finished in its last minute, start latency p50 ${duration(st.startLatency.p50)}, p99 ${duration(st.startLatency.p99)} (${st.startLatency.samples} starts)`
					);
				}
			}
		}
		say(
			"attempts = starts the node's connector reported; executions = lines the handlers wrote to the " +
				"node's execution log; from other nodes = tasks created on another node that this node ran " +
				"first; start = creation to first start"
		);
		const earlier = sum("earlier");
		if (earlier > 0) {
			say(
				`The nodes also ran ${earlier} state changes of tasks left on the table by an earlier run ` +
					"(not counted here)."
			);
		}

		say();
		let ok = true;
		if (lost.length > 0) {
			ok = false;
			say(
				`LOST: ${lost.length} of the ${createdIds.size} created tasks are not in the table: ${lost.slice(0, 5).join(", ")}`
			);
		} else if (outcome === "finished" && unfinished > 0) {
			ok = false;
			say(`LOST: ${unfinished} tasks of the run are not final in the table.`);
		} else if (unfinished > 0) {
			say(
				`None lost: ${createdIds.size} tasks created across ${n} nodes, all in the table: ` +
					`${rows.length - unfinished} final, ${unfinished} still pending or processing (interrupted), ` +
					(server.own
						? "which go with the throw-away server."
						: `left in table ${options.table} for the next nodes on it.`)
			);
		} else {
			say(
				`None lost: ${createdIds.size} tasks created across ${n} nodes, ${rows.length} in the table, ` +
					`all final (${byStatus("success")} success, ${byStatus("failed")} failed).`
			);
		}
		if (twice.length > 0) {
			ok = false;
			say(`RAN TWICE: ${twice.length} tasks ran more often than their attempts:`);
			for (const line of twice.slice(0, 10)) {
				say(`  ${line}`);
			}
		} else {
			say(
				`No task ran twice: ${executions.total} handler executions logged by the handlers for ` +
					`${rows.length} tasks and ${retries} retries; per task one execution per attempt, at most ` +
					"one success and none after it, never two at once."
			);
		}
		if (missing.length > 0) {
			ok = false;
			say(`MISSING EXECUTIONS: ${missing.length} tasks have attempts without a logged execution:`);
			for (const line of missing.slice(0, 10)) {
				say(`  ${line}`);
			}
		}
		if (outcome === "interrupted") {
			return INTERRUPTED_EXIT_CODE;
		}
		return ok ? 0 : FAILED_EXIT_CODE;
	} finally {
		clearInterval(ticker);
		bars?.stop();
		process.off("SIGINT", onSigint);
		process.off("SIGTERM", onSigterm);
		nodes.kill();
		await sql.end({ timeout: 5 });
		removeLogs();
		process.off("exit", removeLogs);
	}
}
