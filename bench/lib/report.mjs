// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Shaping the results: progress lines, the sanity row of each scenario, the per-job summary of
// the JSON, which build was measured, and writing the JSON.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { round, summarize } from "./stats.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A one-line description of a run, for progress.
 * @param {object} result The run result.
 * @returns {string} The text.
 */
export function describe(result) {
	if (!result.ok) {
		return `ERROR ${result.error?.split("\n")[0]}`;
	}
	const m = result.metrics ?? {};
	const main =
		m.tasksPerSec !== undefined
			? `${Math.round(m.tasksPerSec)} tasks/s${m.floorTasksPerSec === undefined ? "" : ` (storage floor ${Math.round(m.floorTasksPerSec)} tasks/s${m.getNsPerEntity === undefined ? "" : `, get ${m.getNsPerEntity.toFixed(1)} ns/entity`})`}`
			: m.p50Ms !== undefined
				? `p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms`
				: m.stopMs !== undefined
					? `stop ${m.stopMs.toFixed(0)} ms, exit ${m.exitMs?.toFixed(0)} ms`
					: "";
	const failed = Object.entries(result.checks ?? {})
		.filter(([, ok]) => !ok)
		.map(([name]) => name);
	return `${main} (${(result.elapsedMs / 1000).toFixed(1)} s)${failed.length > 0 ? ` CHECKS FAILED: ${failed.join(", ")}` : ""}`;
}

/**
 * The sanity row of a scenario: every run of every job succeeded, passed its checks (handler ran
 * once per task, storage state as expected, no unhandled error) and exited on its own.
 * @param {object} scenario The scenario.
 * @param {Map<string, { runs: object[] }>} jobs The jobs with their runs.
 * @returns {object} The row.
 */
export function sanityRow(scenario, jobs) {
	const runsOf = scenario.jobs.flatMap(j => jobs.get(j.id)?.runs ?? []);
	const bad = runsOf.filter(r => !r.ok || Object.values(r.checks ?? {}).some(ok => !ok));
	const failures = [
		...new Set(
			bad.flatMap(r =>
				r.ok
					? Object.entries(r.checks)
							.filter(([, ok]) => !ok)
							.map(([name]) => name)
					: [r.error?.split("\n")[0]]
			)
		)
	];
	return {
		metric: "sanity checks (all runs)",
		unit: "text",
		median:
			bad.length === 0
				? `${runsOf.length}/${runsOf.length} ok`
				: `${bad.length} bad: ${failures.join("; ")}`,
		runs: runsOf.length,
		target: "all ok",
		pass: bad.length === 0
	};
}

/**
 * Everything measured by a job, for the JSON.
 * @param {object} job The job with its runs.
 * @returns {object} The summary.
 */
export function jobSummary(job) {
	const metricKeys = [...new Set(job.runs.flatMap(r => Object.keys(r.metrics ?? {})))];
	return {
		kind: job.kind,
		params: job.params,
		runs: job.runs.length,
		metrics: Object.fromEntries(
			metricKeys.map(key => {
				const values = job.runs.filter(r => r.ok).map(r => r.metrics[key]);
				const s = summarize(values);
				return [
					key,
					{
						median: round(s.median),
						min: round(s.min),
						max: round(s.max),
						samples: values.map(round)
					}
				];
			})
		),
		failedChecks: job.runs.map(r =>
			Object.entries(r.checks ?? {})
				.filter(([, ok]) => !ok)
				.map(([name]) => name)
		),
		errors: job.runs.filter(r => !r.ok).map(r => r.error),
		info: job.runs.map(r => r.info).filter(Boolean)
	};
}

/**
 * Which build was measured: the commit, whether src/ had uncommitted changes, and when dist/ was
 * built (the suite measures dist/esm; `npm run bench` rebuilds it first).
 * @returns {{ commit?: string, srcChanged?: boolean, distBuiltAt: string }} The description.
 */
export function measuredBuild() {
	const git = gitArgs => {
		try {
			return execFileSync("git", gitArgs, {
				cwd: ROOT,
				encoding: "utf8",
				stdio: ["ignore", "pipe", "ignore"]
			}).trim();
		} catch {
			return undefined;
		}
	};
	const status = git(["status", "--porcelain", "--", "src"]);
	return {
		commit: git(["rev-parse", "--short", "HEAD"]),
		srcChanged: status === undefined ? undefined : status.length > 0,
		distBuiltAt: statSync(join(ROOT, "dist", "esm", "index.js")).mtime.toISOString()
	};
}

/**
 * Write the JSON; a run limited by --only updates its scenarios in the existing file.
 * @param {string} file The output file.
 * @param {object} result The results of this invocation.
 * @param {boolean} merge Merge into an existing file.
 */
export function writeResults(file, result, merge) {
	let outputJson = result;
	if (merge && existsSync(file)) {
		try {
			const previous = JSON.parse(readFileSync(file, "utf8"));
			outputJson = { ...result, scenarios: { ...previous.scenarios, ...result.scenarios } };
		} catch {
			// unreadable: replace it
		}
	}
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, `${JSON.stringify(outputJson, null, "\t")}\n`);
}
