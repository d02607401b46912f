// Worker start-up under stress (issue 9, item 1). Full test runs sometimes died with a V8 fatal
// error ("v8::Module::IsGraphAsync must be used on an instantiated module") that killed the whole
// process: piscina require()d the worker entry, an ES module, and Node's require(esm) aborts when
// the worker is terminated while it instantiates the module graph. The pool's entry is now a
// CommonJS file that loads the runner with import() (docs/design.md, "Worker start-up").
//
// Child processes run the BUILT package: each starts and stops worker-mode connectors (4 workers)
// round after round, with a burst of tasks created right after start, and half of the rounds
// stopping while the workers are still starting. Every child must exit with code 0 and print no
// fatal error. The abort itself needs a termination to land within microseconds of the wrong
// moment, so the children also run with --trace-require-module=all (where Node has it), which
// reports every require() of an ES module: that must never happen, whatever the timing.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/worker-startup-child.mjs", import.meta.url));

/**
 * Children per wave, waves, and rounds per child: 2 x 2 x 10 = 40 connectors, 20 of them stopped
 * while their workers start, about 150 worker start-ups in all (a few seconds on 2 idle cores).
 */
const PARALLEL = 2;
const WAVES = 2;
const ROUNDS = 10;
const TASKS = 8;
const JITTER_MS = 40;

/**
 * Node's flag that reports each require() of an ES module, when this Node has it.
 */
const TRACE_FLAG = process.allowedNodeEnvironmentFlags.has("--trace-require-module")
	? ["--trace-require-module=all"]
	: [];

/**
 * Run one child to its end, within a bound.
 * @returns Its exit code, signal and output.
 */
async function runChild(): Promise<{
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}> {
	const child = spawn(
		process.execPath,
		[...TRACE_FLAG, CHILD, String(ROUNDS), String(TASKS), String(JITTER_MS)],
		{ cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 40_000, killSignal: "SIGKILL" }
	);
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", chunk => (stdout += chunk));
	child.stderr.on("data", chunk => (stderr += chunk));
	const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve =>
		child.on("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]))
	);
	return { code, signal, stdout, stderr };
}

describe("worker start-up", () => {
	test("connectors started and stopped with bursts of tasks never abort the process", async () => {
		for (let wave = 0; wave < WAVES; wave++) {
			const results = await Promise.all(Array.from({ length: PARALLEL }, () => runChild()));
			for (const result of results) {
				const context = `signal ${result.signal}; stderr: ${result.stderr.slice(0, 2000)}`;
				expect(result.stderr, context).not.toMatch(/FATAL/);
				expect(result.stderr, context).not.toMatch(/loading ES Module .* using require\(\)/);
				expect(result.code, context).toBe(0);
				expect(JSON.parse(result.stdout.trim())).toEqual({
					rounds: ROUNDS,
					completed: (ROUNDS / 2) * TASKS
				});
			}
		}
		// Generous for a loaded machine: a full run shares the cores with other files.
	}, 90_000);
});
