// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The benchmark suite of the package (issue 4, and the soak of issue 6). `npm run bench` builds
// the package and runs this file; it measures the BUILT package (dist/esm) with the real
// @twin.org/entity-storage-connector-memory and real worker threads.
//
//   node bench/run.mjs [--only a,b] [--jobs id,id] [--runs N] [--scale F] [--parallel N]
//                      [--out file] [--prof] [--batch] [--list] [--quiet] [--settle S]
//                      [--variant JSON]
// --settle S lets a new PostgreSQL server sit idle S seconds before the first run, in place of
// what the selected scenarios ask (pg-node: 60, until autovacuum reaches the new databases).
// An A/B of builds, one invocation each, may pass --settle 0: each build then meets it alike.
// --jobs keeps only the selected scenarios' jobs whose ids it names (an A/B of a few workloads of
// a large scenario); rows of the jobs left out show no value. Unknown names are refused.
// --variant '{"env":{...},"postgresql":{...}}' runs each selected job twice a run, as itself and as
// "<id>-v", whose child process gets the env entries and whose native connectors the postgresql
// entries (an A/B of a setting, or of a switch a throw-away build reads, with the runs of both
// sides interleaved in one invocation on one server); a job's runs cap is lifted then.
//
// Every run of every job is a fresh child process (bench/lib/child.mjs), so scenarios cannot
// contaminate each other's heap, JIT state or RSS, and the parent can check that each child exits
// on its own once the connector is stopped. Runs are interleaved (run 1 of every job, then run 2,
// ...), so a burst of background load spreads over the scenarios instead of hitting one.
// Prints a table (median, min, max, target, pass/fail) and writes JSON (default
// bench/results/latest.json). When a selected scenario needs PostgreSQL (pgScenarios.mjs), one
// throw-away server is started for the whole run (lib/postgresServer.mjs), handed to the children
// through the environment, and stopped and removed at the end, on failure and on Ctrl-C; so are
// dynalite and MariaDB for the store scenarios (lib/storeScenarios.mjs, lib/storeServers.mjs, with
// the launchers the tests use, scripts/servers/).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runChild } from "./lib/childRunner.mjs";
import {
	ENV_ERROR_KEY,
	ENV_KEY,
	serverDetails,
	startBenchPostgres
} from "./lib/postgresServer.mjs";
import { describe, jobSummary, measuredBuild, sanityRow, writeResults } from "./lib/report.mjs";
import { REFERENCE, scenarios } from "./lib/scenarios.mjs";
import { SERVERS, startBenchServer } from "./lib/storeServers.mjs";
import {
	Aggregates,
	evaluateRow,
	formatValue,
	renderTable,
	round,
	summarize
} from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
	options: {
		only: { type: "string", multiple: true },
		jobs: { type: "string", multiple: true },
		runs: { type: "string", default: "5" },
		scale: { type: "string", default: "1" },
		parallel: { type: "string", default: "1" },
		out: { type: "string", default: join(here, "results", "latest.json") },
		prof: { type: "boolean", default: false },
		list: { type: "boolean", default: false },
		batch: { type: "boolean", default: false },
		quiet: { type: "boolean", default: false },
		settle: { type: "string" },
		variant: { type: "string" }
	}
});
const runs = Math.max(1, Number.parseInt(args.runs, 10));
const scale = Number(args.scale);
const parallel = Math.max(1, Number.parseInt(args.parallel, 10));
if (!(scale > 0) || !Number.isFinite(runs) || !Number.isFinite(parallel)) {
	throw new Error("--scale must be > 0, --runs and --parallel integers >= 1");
}
if (!existsSync(join(here, "..", "dist", "esm", "index.js"))) {
	throw new Error("dist/esm/index.js is missing: run `npm run build` (or `npm run bench`) first");
}

const all = scenarios(scale);
if (args.list) {
	for (const s of all) {
		console.log(`${s.name.padEnd(26)} ${s.description}`);
	}
	process.exit(0);
}
/**
 * The names a repeatable, comma-separated option gave; undefined when it was not given.
 * @param {string[] | undefined} values The option's values.
 * @returns {string[] | undefined} The names.
 */
function names(values) {
	return values
		?.flatMap(o => o.split(","))
		.map(o => o.trim())
		.filter(Boolean);
}

/**
 * Refuse names that match nothing known, so a typo does not run an empty selection.
 * @param {string} what What the names are.
 * @param {string[] | undefined} given The names given.
 * @param {string[]} known The names known.
 */
function checkKnown(what, given, known) {
	const unknown = given?.filter(name => !known.includes(name)) ?? [];
	if (unknown.length > 0) {
		throw new Error(`Unknown ${what} ${unknown.join(", ")}; known: ${known.join(", ")}`);
	}
}

const only = names(args.only);
checkKnown(
	"scenario(s)",
	only,
	all.map(s => s.name)
);
const selected = only ? all.filter(s => only.includes(s.name)) : all;

// Jobs shared by several scenarios (the storage floor) run once.
const jobIds = names(args.jobs);
checkKnown("job(s) of the selected scenarios", jobIds, [
	...new Set(selected.flatMap(s => s.jobs.map(j => j.id)))
]);
const variant = args.variant === undefined ? undefined : JSON.parse(args.variant);
if (variant && args.batch) {
	throw new Error("--variant needs a process a run: not with --batch");
}
const jobs = new Map();
for (const scenario of selected) {
	const variants = [];
	for (const job of scenario.jobs) {
		if (!jobs.has(job.id) && (!jobIds || jobIds.includes(job.id))) {
			const runCount = variant ? runs : Math.min(runs, job.maxRuns ?? runs);
			jobs.set(job.id, { ...job, runCount, runs: [] });
			if (variant) {
				const twin = {
					...job,
					id: `${job.id}-v`,
					env: variant.env,
					params: { ...job.params, postgresql: variant.postgresql }
				};
				jobs.set(twin.id, { ...twin, runCount, runs: [] });
				variants.push(twin);
			}
		}
	}
	// The twins join the scenario's jobs, so the report lists them.
	scenario.jobs.push(...variants);
}
// A queue entry is one child process: one job, or with --batch (the smoke test: quick, no
// isolation, numbers not comparable) every job of a run that needs no process of its own.
const queue = [];
for (let r = 0; r < runs; r++) {
	const batched = [];
	for (const job of jobs.values()) {
		if (r < job.runCount) {
			if (args.batch && !job.exitCheck) {
				batched.push(job);
			} else {
				queue.push({ group: [job], r });
			}
		}
	}
	if (batched.length > 0) {
		queue.unshift({ group: batched, r });
	}
}

const tmp = mkdtempSync(join(os.tmpdir(), "twin-bench-"));
// Under .tmp/ (git-ignored), a folder per child run with one .cpuprofile per thread (main thread
// first: its thread id is 0); summarise one with
// `node bench/profile-summary.mjs <file>`.
const profDir = join(here, "..", ".tmp", "profiles");
if (args.prof) {
	mkdirSync(profDir, { recursive: true });
}
const log = text => {
	if (!args.quiet) {
		process.stderr.write(`${text}\n`);
	}
};
const loadAtStart = os.loadavg();
const buildAtStart = measuredBuild();
const started = Date.now();
log(
	`bench: ${queue.length} child runs, scale ${scale}, runs ${runs}, parallel ${parallel}, node ${process.version}, ${os.availableParallelism()} CPUs, load ${loadAtStart.map(l => l.toFixed(2)).join(" ")}`
);

// One server of each kind the selected scenarios need (PostgreSQL, and dynalite and MariaDB for
// the store scenarios); if one cannot start, the jobs that need it fail with the reason (the others
// still run). Every server is stopped at the end, on failure and on Ctrl-C.
let pgServer;
const storeServers = new Map();
const neededServers = [...new Set(selected.flatMap(s => s.needsServers ?? []))];
if (selected.some(s => s.needsPostgres) || neededServers.length > 0) {
	const stopAllSync = () => {
		pgServer?.stopSync();
		for (const server of storeServers.values()) {
			server.stopSync();
		}
	};
	const stopOnSignal = signal => {
		log(`bench: ${signal}, stopping the servers`);
		stopAllSync();
		rmSync(tmp, { recursive: true, force: true });
		process.exit(130);
	};
	process.once("SIGINT", stopOnSignal);
	process.once("SIGTERM", stopOnSignal);
	process.once("exit", stopAllSync);
}
if (selected.some(s => s.needsPostgres)) {
	try {
		pgServer = await startBenchPostgres();
		process.env[ENV_KEY] = JSON.stringify(serverDetails(pgServer));
		log(
			`bench: PostgreSQL ${pgServer.settings.server_version} on ${pgServer.host}:${pgServer.port} (fsync ${pgServer.settings.fsync}, synchronous_commit ${pgServer.settings.synchronous_commit})`
		);
		// A scenario may ask the new server to sit idle before its first run (pg-node: autovacuum
		// reaches a new database only a minute after the start; docs/performance.md, "The server's
		// first minute").
		const settleMs =
			args.settle === undefined
				? Math.max(0, ...selected.map(sc => sc.serverSettleMs ?? 0))
				: Math.max(0, Number(args.settle) * 1000);
		if (settleMs > 0) {
			log(`bench: letting the new server settle for ${settleMs / 1000} s before the first run`);
			await new Promise(resolve => setTimeout(resolve, settleMs));
		}
	} catch (err) {
		process.env[ENV_ERROR_KEY] = String(err?.message ?? err).split("\n")[0];
		log(`bench: the PostgreSQL server did not start, its scenarios will fail: ${err?.message}`);
	}
}
for (const name of neededServers) {
	const server = await startBenchServer(name, log);
	if (server) {
		storeServers.set(name, server);
	}
}

let done = 0;
let next = 0;
await Promise.all(
	Array.from({ length: Math.min(parallel, queue.length) }, async () => {
		while (next < queue.length) {
			const { group, r } = queue[next++];
			const groupResults = await runChild(group, `${group[0].id}-${r}`, {
				tmp,
				scale,
				profDir: args.prof ? profDir : undefined
			});
			done++;
			group.forEach((job, i) => {
				job.runs.push(groupResults[i]);
				log(
					`[${done}/${queue.length}] ${job.id} run ${r + 1}/${job.runCount}: ${describe(groupResults[i])}`
				);
			});
		}
	})
);
// (runChild never rejects; should anything else throw, the exit handler above stops the servers.)
await pgServer?.stop();
for (const server of storeServers.values()) {
	await server.stop();
}
rmSync(tmp, { recursive: true, force: true });

/**
 * Each job against its --variant twin, run by run (the pairs ran one after the other).
 * @param {Map<string, object>} all The jobs.
 * @returns {object[]} A summary a job.
 */
function variantPairs(all) {
	const median = values => summarize(values).median;
	const metric = (job, key) => job.runs.map(r => (r.ok ? r.metrics?.[key] : Number.NaN));
	const pairs = [];
	for (const job of all.values()) {
		const twin = all.get(`${job.id}-v`);
		if (!twin) {
			continue;
		}
		const base = metric(job, "tasksPerSec");
		const other = metric(twin, "tasksPerSec");
		const n = Math.min(base.length, other.length);
		const ratios = base.slice(0, n).map((b, i) => other[i] / b);
		const cpu = j =>
			["hostCpuUsPerTask", "serverCpuUsPerTask"]
				.map(key => median(metric(j, key)))
				.map(v => (Number.isFinite(v) ? round(v) : "-"))
				.join(" / ");
		pairs.push({
			id: job.id,
			base: base.map(v => Math.round(v)),
			twin: other.map(v => Math.round(v)),
			baseMedian: Math.round(median(base)),
			twinMedian: Math.round(median(other)),
			pairRatio: round(median(ratios)),
			ahead: ratios.filter(r => r > 1).length,
			pairs: n,
			cpu: `${cpu(job)} -> ${cpu(twin)}`
		});
	}
	return pairs;
}

const agg = new Aggregates(jobs);
const output = {
	generatedAt: new Date(started).toISOString(),
	durationSec: Math.round((Date.now() - started) / 1000),
	node: process.version,
	cpus: os.availableParallelism(),
	cpuModel: os.cpus()[0]?.model,
	totalMemoryMb: Math.round(os.totalmem() / 1024 / 1024),
	platform: `${process.platform} ${os.release()}`,
	loadAverage: { atStart: loadAtStart.map(round), atEnd: os.loadavg().map(round) },
	args: { runs, scale, parallel, only: only ?? "all", batch: args.batch },
	// Each child imports dist/ when it starts: a rebuild during the run (another `npm run build` or
	// test run in the same tree) means later runs measured another build.
	measured: {
		...buildAtStart,
		distRebuiltDuringRun: measuredBuild().distBuiltAt !== buildAtStart.distBuiltAt
	},
	reference: REFERENCE,
	postgres: pgServer
		? { port: pgServer.port, settings: pgServer.settings, databases: pgServer.databases }
		: process.env[ENV_ERROR_KEY]
			? { error: process.env[ENV_ERROR_KEY] }
			: undefined,
	servers:
		neededServers.length > 0
			? Object.fromEntries(
					neededServers.map(name => [
						name,
						storeServers.get(name)?.details ?? { error: process.env[SERVERS[name].errorKey] }
					])
				)
			: undefined,
	scenarios: {}
};
const tableRows = [];
for (const scenario of selected) {
	// A row may evaluate itself (pgScenarios.mjs: ratios run by run, "not available" rows).
	const rows = scenario.rows.map(row => (row.evaluate ? row.evaluate(agg) : evaluateRow(row, agg)));
	const sanity = sanityRow(scenario, jobs);
	rows.push(sanity);
	output.scenarios[scenario.name] = {
		date: output.generatedAt,
		scale,
		description: scenario.description,
		pass: rows.every(row => row.pass !== false),
		rows,
		jobs: Object.fromEntries(
			scenario.jobs.filter(j => jobs.has(j.id)).map(j => [j.id, jobSummary(jobs.get(j.id))])
		)
	};
	for (const row of rows) {
		tableRows.push([
			scenario.name,
			row.metric,
			row.unit === "text" ? row.median : formatValue(row.median, row.unit),
			row.unit === "text" ? "" : formatValue(row.min, row.unit),
			row.unit === "text" ? "" : formatValue(row.max, row.unit),
			row.target ?? "",
			row.pass === undefined ? "-" : row.pass ? "PASS" : "FAIL",
			String(row.runs)
		]);
	}
}

console.log();
console.log(
	renderTable(["scenario", "metric", "median", "min", "max", "target", "result", "runs"], tableRows)
);
if (variant) {
	output.variant = { given: variant, pairs: variantPairs(jobs) };
	console.log();
	console.log(
		`Variant ${args.variant}, run by run against its job (tasks/s; client / server CPU a task, us):`
	);
	for (const p of output.variant.pairs) {
		console.log(
			`  ${p.id}: ${p.base.join(" / ")} -> ${p.twin.join(" / ")}; medians ${p.baseMedian} -> ${p.twinMedian} (pair ratio ${p.pairRatio}, variant ahead in ${p.ahead} of ${p.pairs}); CPU ${p.cpu}`
		);
	}
}
console.log();
console.log(
	`Reference (original implementation, ${REFERENCE.source}): ${REFERENCE.tasksPerSecWithTaskInterval1} tasks/s with taskInterval 1, ${REFERENCE.tasksPerSecWithDefaults} tasks/s with its defaults.`
);
console.log(
	`Measured dist/ built ${output.measured.distBuiltAt} from commit ${output.measured.commit ?? "?"}${output.measured.srcChanged ? " with uncommitted changes in src/" : ""}${output.measured.distRebuiltDuringRun ? "; WARNING: dist/ was rebuilt during the run, later runs measured another build" : ""}.`
);
console.log(
	`Node ${output.node}, ${output.cpus} CPUs (${output.cpuModel}), load average at start ${output.loadAverage.atStart.join(" ")}, at end ${output.loadAverage.atEnd.join(" ")}; ${output.durationSec} s.`
);

writeResults(args.out, output, Boolean(only));
console.log(`Results written to ${args.out}`);
if (args.prof) {
	console.log(`CPU profiles in ${profDir}`);
}
