// The main job (`npm start`): a demonstration node. It registers the background task connector over
// embedded storage, three handler types, creates tasks, shows live progress per type and ends with
// a summary table. Ctrl-C stops gracefully; with a durable store the next run resumes what is left.
// With --store postgres --nodes <n> it runs n node processes on one table with the native backend
// instead (demo-lib/cluster.mjs). `node scripts/demo.mjs --help` for the options.
import { HELP, parseOptions, USAGE_EXIT_CODE, UsageError } from "./demo-lib/options.mjs";
import { handlerTypes } from "./demo-lib/types.mjs";

/**
 * Exit code after a graceful Ctrl-C (128 + SIGINT).
 */
const INTERRUPTED_EXIT_CODE = 130;

/**
 * How long stop() waits for running tasks after Ctrl-C, ms.
 */
const SHUTDOWN_TIMEOUT_MS = 5000;

/**
 * The node identity the demo starts the connector with.
 */
const NODE_IDENTITY = "demo-node";

/**
 * Count each type's tasks that are pending or processing in storage, with getStatistics.
 * @param {import("../dist/types/index.js").EntityStorageBackgroundTaskConnector} connector The connector.
 * @param {string[]} types The types.
 * @returns {Promise<{ [type: string]: number }>} The counts.
 */
async function countUnfinished(connector, types) {
	const { types: counts } = await connector.getStatistics();
	return Object.fromEntries(
		types.map(type => [type, (counts[type]?.pending ?? 0) + (counts[type]?.processing ?? 0)])
	);
}

/**
 * Milliseconds for the summary.
 * @param {number | undefined} ms The value.
 * @returns {string} The text.
 */
function formatMs(ms) {
	return ms === undefined ? "-" : `${ms} ms`;
}

/**
 * Print a line (stdout).
 * @param {string} text The text.
 */
function say(text = "") {
	process.stdout.write(`${text}\n`);
}

/**
 * Exit once stdout is flushed.
 * @param {number} code The exit code.
 */
function exit(code) {
	process.exitCode = code;
	process.stdout.write("", () => process.exit(code));
}

/**
 * Run the demo.
 * @param {string[]} argv The command-line arguments.
 * @returns {Promise<number>} The exit code.
 */
async function main(argv) {
	const options = parseOptions(argv);
	if (options.help) {
		say(HELP);
		return 0;
	}
	let server;
	if (options.store === "postgres") {
		// The server of --url, or a throw-away one started now (stopped below).
		const { demoServer } = await import("./demo-lib/server.mjs");
		server = await demoServer(options.url, say);
	}
	if (options.nodes !== undefined) {
		try {
			const { runNodes } = await import("./demo-lib/cluster.mjs");
			return await runNodes(options, server, say);
		} finally {
			await server?.stop();
		}
	}
	// TWIN's PostgreSQL connector never closes its pool: an own server is stopped by the exit
	// handler, once nothing is printed any more (its connections would report the shutdown).
	return runNode(options, server);
}

/**
 * Run one node in this process.
 * @param {object} options The options (parseOptions).
 * @param {import("./demo-lib/server.mjs").IDemoServer} [server] The server for --store postgres.
 * @returns {Promise<number>} The exit code.
 */
async function runNode(options, server) {
	// Loaded after the command line is checked, so --help and usage errors answer at once.
	const [
		{ default: cliProgress },
		{ EntityStorageConnectorFactory },
		connectorModule,
		statsModule,
		storesModule
	] = await Promise.all([
		import("cli-progress"),
		import("@twin.org/entity-storage-models"),
		import("../dist/esm/index.js"),
		import("./demo-lib/stats.mjs"),
		import("./demo-lib/stores.mjs")
	]);
	const { EntityStorageBackgroundTaskConnector, initSchema } = connectorModule;
	const { TypeStats, summaryTable } = statsModule;
	const { openStore } = storesModule;
	const tty = Boolean(process.stdout.isTTY);
	const types = handlerTypes(options);
	const workers = options.workers ?? types.reduce((sum, t) => sum + t.concurrency, 0);

	initSchema();
	const store = await openStore(options, server);
	EntityStorageConnectorFactory.register("background-task", () => store.storage);
	const connector = new EntityStorageBackgroundTaskConnector({
		config: { maxWorkers: workers, shutdownTimeout: SHUTDOWN_TIMEOUT_MS }
	});

	// Tasks left unfinished by a previous run on a durable store are resumed, not created again.
	const resumed = store.durable
		? await countUnfinished(
				connector,
				types.map(t => t.type)
			)
		: Object.fromEntries(types.map(t => [t.type, 0]));
	const resumedTotal = Object.values(resumed).reduce((a, b) => a + b, 0);
	const toCreate = resumedTotal > 0 ? 0 : options.tasks;

	say(`Background task demo: store ${store.label}, ${workers} worker threads`);
	for (const note of store.notes) {
		say(`  ${note}`);
	}
	if (resumedTotal > 0) {
		say(
			`Resuming ${resumedTotal} unfinished tasks from the previous run ` +
				`(${types.map(t => `${resumed[t.type]} ${t.type}`).join(", ")}); no new tasks are created.`
		);
	}

	const runStart = Date.now();
	const stats = new Map(types.map(t => [t.type, new TypeStats(t.type, t.concurrency, runStart)]));
	for (const t of types) {
		const s = stats.get(t.type);
		s.resumed = resumed[t.type];
		const share =
			Math.floor(toCreate / types.length) + (types.indexOf(t) < toCreate % types.length ? 1 : 0);
		s.total = resumed[t.type] + share;
	}

	const bars = tty
		? new cliProgress.MultiBar(
				{
					format:
						" {type} [{bar}] {value}/{total} | running {running} | retries {retries} | failed {failed}",
					barsize: 20,
					hideCursor: true,
					clearOnComplete: false,
					fps: 10
				},
				cliProgress.Presets.shades_classic
			)
		: undefined;
	const bar = new Map(
		types.map(t => {
			const s = stats.get(t.type);
			return [
				t.type,
				bars?.create(s.total, 0, { type: t.type.padEnd(5), running: 0, retries: 0, failed: 0 })
			];
		})
	);

	let resolveDone;
	const done = new Promise(resolve => {
		resolveDone = resolve;
	});
	const checkDone = () => {
		if ([...stats.values()].every(s => s.finished >= s.total)) {
			resolveDone("finished");
		}
	};

	for (const t of types) {
		const s = stats.get(t.type);
		await connector.registerHandler(
			t.type,
			t.module,
			t.method,
			async task => {
				s.record(task, Date.now());
				bar
					.get(t.type)
					?.update(s.finished, { running: s.running, retries: s.retries, failed: s.failed });
				checkDone();
			},
			{ concurrency: t.concurrency }
		);
	}

	let interrupted = false;
	process.on("SIGINT", () => {
		if (interrupted) {
			// A second Ctrl-C: leave at once; unfinished tasks stay in storage (processing ones are
			// recovered by the next run).
			bars?.stop();
			say("\nStopped without waiting.");
			process.exit(INTERRUPTED_EXIT_CODE);
		}
		interrupted = true;
		resolveDone("interrupted");
	});

	await connector.start(NODE_IDENTITY);
	const createStart = performance.now();
	let created = 0;
	// Interleave the types, a batch of creates at a time.
	const plan = [];
	for (let i = 0; plan.length < toCreate; i++) {
		plan.push(types[i % types.length]);
	}
	const createdOf = Object.fromEntries(types.map(t => [t.type, 0]));
	for (let i = 0; i < plan.length && !interrupted; i += 100) {
		await Promise.all(
			plan.slice(i, i + 100).map(async (t, j) => {
				await connector.create(t.type, t.payload(i + j), t.createOptions);
				createdOf[t.type]++;
				created++;
			})
		);
	}
	if (created < toCreate) {
		// Ctrl-C while creating: the run is responsible for the tasks created so far only.
		for (const s of stats.values()) {
			s.total = s.resumed + createdOf[s.type];
			bar.get(s.type)?.setTotal(s.total);
		}
	}
	if (toCreate > 0 && !tty) {
		const ms = Math.round(performance.now() - createStart);
		say(`Created ${created} tasks (${types.map(t => t.type).join(", ")}) in ${ms} ms`);
	}
	checkDone();

	const outcome = await done;
	bars?.stop();
	if (outcome === "interrupted") {
		say(`\nCtrl-C: stopping, waiting up to ${SHUTDOWN_TIMEOUT_MS / 1000} s for running tasks...`);
	}
	// This node's own figures from the connector, while it still runs.
	const nodeFigures = await connector.getStatistics();
	await connector.stop(NODE_IDENTITY);
	const elapsed = Date.now() - runStart;

	const unfinished = await countUnfinished(
		connector,
		types.map(t => t.type)
	);
	const remaining = Object.values(unfinished).reduce((a, b) => a + b, 0);

	say();
	say(
		`Summary: ${outcome === "interrupted" ? "interrupted" : "finished"} after ${(elapsed / 1000).toFixed(1)} s`
	);
	say(summaryTable([...stats.values()], unfinished));
	say("start = time from a task's creation to its first start (tasks created in this run)");
	say(
		`getStatistics(): ${nodeFigures.completedLastMinute} finished in the last minute, start latency (due to start) p50 ${formatMs(nodeFigures.startLatency.p50)}, p99 ${formatMs(nodeFigures.startLatency.p99)} over ${nodeFigures.startLatency.samples} starts`
	);
	if (remaining > 0) {
		if (store.durable) {
			say(`${remaining} tasks remain for the next run: run the same command again to resume them.`);
		} else {
			say(
				`${remaining} tasks were unfinished and the memory store ends with the process: ` +
					"use --store file --dir <path> to keep them for the next run."
			);
		}
	}
	return outcome === "interrupted" ? INTERRUPTED_EXIT_CODE : 0;
}

main(process.argv.slice(2)).then(exit, err => {
	if (err instanceof UsageError) {
		process.stderr.write(`error: ${err.message}\nRun with --help for the options.\n`);
		exit(USAGE_EXIT_CODE);
	} else {
		process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
		exit(1);
	}
});
