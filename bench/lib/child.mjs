// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Entry of a benchmark child process:
//   node bench/lib/child.mjs <jobs-json> <result-file>
// <jobs-json> is an array of { kind, params }: normally one job (a fresh process per run); the
// smoke test batches the jobs that need no process of their own (--batch). Runs them in order,
// writes an array of { ok, metrics, checks, info, error } to the result file, prints
// "BENCH_DONE <epoch ms>" and then returns WITHOUT calling process.exit: the parent measures
// whether and when the process exits on its own (nothing of the connector may keep it alive).
import { writeFileSync } from "node:fs";
import { memoryGrowth, scaling } from "./jobs/backlog.mjs";
import { latency } from "./jobs/latency.mjs";
import { soak, stopUnderLoad } from "./jobs/lifecycle.mjs";
import { PG_JOBS } from "./jobs/pgJobs.mjs";
import { throughput } from "./jobs/throughput.mjs";

const JOBS = {
	throughput,
	latency,
	scaling,
	memory: memoryGrowth,
	stop: stopUnderLoad,
	soak,
	...PG_JOBS,
	// Imported only when it runs (its store connectors and drivers).
	"store-throughput": async params => (await import("./jobs/stores.mjs")).storeThroughput(params)
};

const [jobsJson, resultFile] = process.argv.slice(2);
const escaped = [];
process.on("unhandledRejection", err =>
	escaped.push(`unhandledRejection: ${String(err?.stack ?? err)}`)
);
process.on("uncaughtException", err =>
	escaped.push(`uncaughtException: ${String(err?.stack ?? err)}`)
);

const results = [];
for (const { kind, params } of JSON.parse(jobsJson)) {
	const before = escaped.length;
	let result;
	try {
		const job = JOBS[kind];
		if (!job) {
			throw new Error(`Unknown job kind "${kind}"`);
		}
		result = { ok: true, ...(await job(params)) };
	} catch (err) {
		result = { ok: false, error: String(err?.stack ?? err) };
		process.exitCode = 1;
	}
	result.checks = { ...result.checks, noUnhandledErrors: escaped.length === before };
	if (escaped.length > before) {
		result.escaped = escaped.slice(before, before + 5);
	}
	results.push(result);
}
writeFileSync(resultFile, JSON.stringify(results));
process.stdout.write(`BENCH_DONE ${Date.now()}\n`);
