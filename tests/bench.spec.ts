// Smoke run of the benchmark suite (bench/run.mjs): every scenario once, at a tiny size, in
// parallel child processes, against the built package. Not a timed test: it checks that each
// scenario still runs and produces a sane result object (the measured numbers at this size mean
// nothing), so the benchmarks keep working as the code changes. The real runs: `npm run bench`.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

/**
 * A row of a scenario in the results JSON.
 */
interface IResultRow {
	metric: string;
	unit: string;
	median: number | string | null;
	min: number | null;
	max: number | null;
	runs: number;
	target?: string;
	pass?: boolean;
}

/**
 * A scenario in the results JSON.
 */
interface IScenarioResult {
	date: string;
	scale: number;
	description: string;
	pass: boolean;
	rows: IResultRow[];
	jobs: { [id: string]: { runs: number; errors: string[]; failedChecks: string[][] } };
}

/**
 * The results JSON.
 */
interface IResults {
	node: string;
	cpus: number;
	args: { runs: number; scale: number };
	reference: { tasksPerSecWithDefaults: number; tasksPerSecWithTaskInterval1: number };
	scenarios: { [name: string]: IScenarioResult };
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const SCENARIOS = [
	"throughput-1type",
	"throughput-1type-default",
	"throughput-8types",
	"inline",
	"ceiling",
	"latency-idle",
	"scaling",
	"memory",
	"stop",
	"soak"
];

/**
 * The PostgreSQL scenarios of the smoke run (bench/lib/pgScenarios.mjs, pgRetainedScenarios.mjs),
 * on the throw-away server bench/run.mjs starts (about 2 s). pg-scaling is left out: its eight
 * jobs start 30 node processes, too slow for a smoke run; its node processes are exercised by
 * pg-latency. pg-node is left out too: each of its sixteen jobs waits 2 s for its creator's idle
 * connections to close, about 50 s in all; its native job is the one pg-retained's resembles.
 * pg-createmany runs calls of 10 payloads at this size.
 */
const PG_SCENARIOS = ["pg-backlog", "pg-create", "pg-createmany", "pg-latency", "pg-retained"];

let dir: string;
let results: IResults;

/**
 * A row of a scenario by the start of its metric name.
 * @param scenario The scenario name.
 * @param metric The start of the metric name.
 * @returns The row.
 */
function row(scenario: string, metric: string): IResultRow {
	const found = results.scenarios[scenario].rows.find(r => r.metric.startsWith(metric));
	if (!found) {
		throw new Error(`No row "${metric}" in scenario ${scenario}`);
	}
	return found;
}

/**
 * The median of a row as a number.
 * @param scenario The scenario name.
 * @param metric The start of the metric name.
 * @returns The median.
 */
function median(scenario: string, metric: string): number {
	return row(scenario, metric).median as number;
}

/**
 * Run bench/run.mjs with arguments.
 * @param args Its arguments.
 * @param timeout The longest it may take, ms.
 * @returns Its output.
 */
async function runBench(args: string[], timeout: number): Promise<{ stdout: string }> {
	return promisify(execFile)(process.execPath, ["bench/run.mjs", ...args], { cwd: ROOT, timeout });
}

describe("benchmark suite smoke run", () => {
	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), "twin-bench-smoke-"));
		const out = join(dir, "results.json");
		await runBench(
			[
				"--scale",
				"0.002",
				"--runs",
				"1",
				"--parallel",
				"2",
				"--batch",
				"--quiet",
				"--out",
				out,
				"--only",
				[...SCENARIOS, ...PG_SCENARIOS].join(",")
			],
			90_000
		);
		results = JSON.parse(readFileSync(out, "utf8")) as IResults;
	}, 120_000);

	afterAll(() => {
		rmSync(dir, { recursive: true, force: true });
	});

	test("the results record the environment, the arguments and the original's reference numbers", () => {
		expect(results.node).toBe(process.version);
		expect(results.cpus).toBeGreaterThan(0);
		expect(results.args).toMatchObject({ runs: 1, scale: 0.002 });
		expect(results.reference).toMatchObject({
			tasksPerSecWithDefaults: 8,
			tasksPerSecWithTaskInterval1: 46
		});
		expect(Object.keys(results.scenarios).sort()).toEqual([...SCENARIOS, ...PG_SCENARIOS].sort());
	});

	test.each([...SCENARIOS, ...PG_SCENARIOS])(
		"%s ran every job without error, passed its sanity checks and summarised each row",
		name => {
			const scenario = results.scenarios[name];
			for (const [id, job] of Object.entries(scenario.jobs)) {
				expect(job.errors, `${name}/${id}`).toEqual([]);
				expect(job.runs, `${name}/${id}`).toBe(1);
			}
			const sanity = row(name, "sanity checks");
			expect(sanity.pass, `${name}: ${String(sanity.median)}`).toBe(true);
			for (const r of scenario.rows) {
				if (r.unit !== "text" && r.target !== undefined) {
					// A row with a target has a value and a verdict (timing verdicts at this size mean nothing).
					expect(Number.isFinite(r.median), `${name}: ${r.metric}`).toBe(true);
					expect(typeof r.pass, `${name}: ${r.metric}`).toBe("boolean");
					expect(r.min as number).toBeLessThanOrEqual(r.max as number);
				}
			}
		}
	);

	test("throughput scenarios report tasks/s, the storage floor and the calls per task", () => {
		for (const name of [
			"throughput-1type",
			"throughput-1type-default",
			"throughput-8types",
			"inline"
		]) {
			expect(median(name, "tasks/s")).toBeGreaterThan(0);
			expect(median(name, "storage floor")).toBeGreaterThan(0);
			expect(median(name, "share of wall time")).toBeGreaterThan(0);
			expect(median(name, "storage calls per task")).toBe(4);
		}
		expect(median("ceiling", "worker mode: tasks/s")).toBeGreaterThan(0);
		expect(median("ceiling", "inline: tasks/s")).toBeGreaterThan(0);
	});

	test("latency, memory and scaling report their measures", () => {
		expect(median("latency-idle", "p50")).toBeGreaterThan(0);
		expect(median("latency-idle", "p99")).toBeGreaterThanOrEqual(median("latency-idle", "p50"));
		expect(median("memory", "peak RSS growth")).toBeGreaterThanOrEqual(0);
		for (const size of ["1k", "10k", "50k"]) {
			// Deterministic at any size: one create, claim read + write, and one settle per task.
			expect(median("scaling", `${size}: writes/task`)).toBe(3);
			expect(median("scaling", `${size}: reads/task`)).toBe(1);
			expect(median("scaling", `${size}: wall time/task`)).toBeGreaterThan(0);
		}
	});

	test("stop and soak children exit on their own after stop()", () => {
		expect(row("stop", "hang: process exit").pass).toBe(true);
		expect(row("stop", "drain: process exit").pass).toBe(true);
		expect(row("soak", "process exit after stop()").pass).toBe(true);
		expect(median("soak", "resources left after stop()")).toBeGreaterThanOrEqual(0);
	});

	test("PostgreSQL scenarios: graphile-worker and the entity-storage path measure; the native backend measures or says it is not available", () => {
		expect(median("pg-backlog", "graphile-worker: jobs/s")).toBeGreaterThan(0);
		expect(median("pg-backlog", "graphile-worker: client CPU per task")).toBeGreaterThan(0);
		expect(median("pg-backlog", "graphile-worker: server CPU per task")).toBeGreaterThan(0);
		expect(median("pg-backlog", "entity-storage inline: tasks/s")).toBeGreaterThan(0);
		expect(median("pg-backlog", "entity-storage worker: tasks/s")).toBeGreaterThan(0);
		// The backlog is cloned in SQL (no create counted): one claim read + write, one remove (retainFor 0).
		expect(median("pg-backlog", "entity-storage inline: (remove)")).toBe(1);
		expect(median("pg-create", "graphile-worker addJob: jobs/s")).toBeGreaterThan(0);
		expect(median("pg-create", "entity-storage create: tasks/s")).toBeGreaterThan(0);
		expect(median("pg-latency", "graphile-worker: p50")).toBeGreaterThan(0);
		expect(median("pg-createmany", "graphile-worker addJobs, no worker: jobs/s")).toBeGreaterThan(
			0
		);
		expect(
			median("pg-createmany", "graphile-worker addJobs, worker running: jobs/s")
		).toBeGreaterThan(0);
		expect(
			median("pg-createmany", "entity-storage (PostgreSQL) createMany, no handler: tasks/s")
		).toBeGreaterThan(0);
		expect(
			median("pg-createmany", "entity-storage (memory) createMany, no handler: tasks/s")
		).toBeGreaterThan(0);
		// Deterministic (the distinct xmin of the stored rows per call of 10 payloads): one
		// transaction per addJobs call, one per task on the entity-storage path.
		expect(
			median("pg-createmany", "graphile-worker addJobs, no worker: transactions per call")
		).toBe(1);
		expect(
			median("pg-createmany", "entity-storage (PostgreSQL) createMany: transactions per call")
		).toBe(10);
		for (const [scenario, metric] of [
			["pg-backlog", "native inline: tasks/s"],
			["pg-backlog", "native worker: tasks/s"],
			["pg-backlog", "native inline / graphile-worker"],
			["pg-create", "native create: tasks/s"],
			["pg-createmany", "native createMany, processing: tasks/s"],
			["pg-createmany", "native createMany, no handler: tasks/s"],
			["pg-createmany", "native createMany / graphile-worker addJobs (insert alone)"],
			["pg-latency", "native: p50"]
		]) {
			const r = row(scenario, metric);
			const available = row(scenario, "native backend").median === "available";
			if (available) {
				expect(Number.isFinite(r.median), `${scenario}: ${metric}`).toBe(true);
				expect(r.median as number).toBeGreaterThan(0);
			} else {
				// Not built yet: a row that says so, with no verdict, rather than a failure.
				expect(r.median, `${scenario}: ${metric}`).toBe("not available");
				expect(r.pass).toBeUndefined();
			}
		}
		if (row("pg-createmany", "native backend").median === "available") {
			// Issue 11, item 5: one INSERT per createMany call on the native backend.
			expect(median("pg-createmany", "native createMany, no handler: transactions per call")).toBe(
				1
			);
		}
	});
});

describe("bench/run.mjs --variant", () => {
	/**
	 * Run the inline scenario twice at a tiny size with a variant.
	 * @param variant The variant's JSON.
	 * @returns The results JSON.
	 */
	async function runVariant(variant: object): Promise<{
		scenarios: { inline: { jobs: { [id: string]: { runs: number; errors: string[] } } } };
		variant: {
			given: object;
			pairs: {
				id: string;
				base: number[];
				twin: number[];
				pairRatio: number;
				ahead: number;
				pairs: number;
			}[];
		};
	}> {
		const variantDir = mkdtempSync(join(tmpdir(), "twin-bench-variant-"));
		try {
			const out = join(variantDir, "results.json");
			await runBench(
				[
					"--only",
					"inline",
					"--scale",
					"0.002",
					"--runs",
					"2",
					"--quiet",
					"--out",
					out,
					"--variant",
					JSON.stringify(variant)
				],
				60_000
			);
			return JSON.parse(readFileSync(out, "utf8"));
		} finally {
			rmSync(variantDir, { recursive: true, force: true });
		}
	}

	test("runs each job beside its twin, run by run, and reports each pair", async () => {
		const results = await runVariant({ env: { TWIN_BENCH_VARIANT_TEST: "1" } });
		const jobs = results.scenarios.inline.jobs;
		expect(Object.keys(jobs).sort()).toEqual(["inline", "inline-v"]);
		expect(jobs.inline.runs).toBe(2);
		expect(jobs["inline-v"].runs).toBe(2);
		expect(results.variant.given).toEqual({ env: { TWIN_BENCH_VARIANT_TEST: "1" } });
		const [pair] = results.variant.pairs;
		expect(pair).toMatchObject({ id: "inline", pairs: 2 });
		const ratios = pair.base.map((b, i) => pair.twin[i] / b).sort((a, b) => a - b);
		expect(pair.pairRatio).toBeCloseTo((ratios[0] + ratios[1]) / 2, 2);
		expect(pair.ahead).toBe(ratios.filter(r => r > 1).length);
	}, 60_000);

	test("gives its environment to the twin's process only", async () => {
		// A module that is not there: a process given it fails before it runs anything.
		const results = await runVariant({
			env: { NODE_OPTIONS: `--require=${join(tmpdir(), "twin-no-such-module.cjs")}` }
		});
		const jobs = results.scenarios.inline.jobs;
		expect(jobs.inline.errors).toEqual([]);
		expect(jobs["inline-v"].errors).toHaveLength(2);
		expect(jobs["inline-v"].errors[0]).toContain("no result");
	}, 60_000);

	test("is refused with --batch, whose runs share a process", async () => {
		await expect(
			runBench(["--only", "inline", "--batch", "--variant", "{}"], 30_000)
		).rejects.toThrow("--variant needs a process a run");
	});
});
