// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Runs benchmark jobs in a fresh child process (child.mjs) and reports, besides their results,
// whether the process then exited on its own, and how long after writing its results: a connector
// that leaves a timer, worker or port behind after stop() keeps it alive, and it is killed after a
// grace period. Every child is also bounded by a time budget.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, "child.mjs");
const ROOT = join(here, "..", "..");

/**
 * Run jobs in a fresh child process and collect their results, whether the process exited on its
 * own after writing them, and how long that took.
 * @param {object[]} group The jobs (one, except with --batch).
 * @param {string} tag A unique tag for the result file.
 * @param {{ tmp: string, scale: number, profDir?: string }} options The folder for result files,
 *   the scale (sets the time budget) and where to write CPU profiles, if at all.
 * @returns {Promise<object[]>} The run result of each job.
 */
export function runChild(group, tag, options) {
	const resultFile = join(options.tmp, `${tag}.json`);
	const nodeArgs = [...(group[0].nodeArgs ?? [])];
	if (options.profDir) {
		nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${join(options.profDir, tag)}`);
	}
	const budgetMs = Math.max(120_000, 1_800_000 * options.scale);
	const exitGraceMs = 10_000;
	return new Promise(resolve => {
		const t0 = Date.now();
		const jobsJson = JSON.stringify(group.map(job => ({ kind: job.kind, params: job.params })));
		const child = spawn(process.execPath, [...nodeArgs, CHILD, jobsJson, resultFile], {
			stdio: ["ignore", "pipe", "inherit"],
			cwd: ROOT,
			env: { ...process.env, ...group[0].env }
		});
		let doneAt;
		let killedFor;
		let graceTimer;
		const budgetTimer = setTimeout(() => {
			killedFor = "timeout";
			child.kill("SIGKILL");
		}, budgetMs);
		let buffered = "";
		child.stdout.on("data", chunk => {
			buffered += chunk.toString();
			const match = /BENCH_DONE (\d+)/.exec(buffered);
			if (match && doneAt === undefined) {
				doneAt = Date.now();
				graceTimer = setTimeout(() => {
					killedFor = "did not exit on its own";
					child.kill("SIGKILL");
				}, exitGraceMs);
			}
		});
		child.on("exit", code => {
			clearTimeout(budgetTimer);
			clearTimeout(graceTimer);
			let results;
			try {
				results = JSON.parse(readFileSync(resultFile, "utf8"));
			} catch {
				const error = `no result (exit code ${code}${killedFor ? `, killed: ${killedFor}` : ""})`;
				results = group.map(() => ({ ok: false, error }));
			}
			const exitedOnOwn = doneAt !== undefined && killedFor === undefined;
			const exitMs = exitedOnOwn ? Date.now() - doneAt : Number.NaN;
			for (const result of results) {
				result.exitedOnOwn = exitedOnOwn;
				result.killedFor = killedFor;
				result.elapsedMs = Date.now() - t0;
				result.metrics = { ...result.metrics, exitMs };
				result.checks = { ...result.checks, exitedOnOwn };
			}
			resolve(results);
		});
	});
}
