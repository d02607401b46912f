// The main job (scripts/demo.mjs, run by `npm start` after the build) as a user runs it: a child
// process with stdout piped (not a TTY, so no progress bars), checked by its output and exit code.
// The package is built by the global setup.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { waitFor } from "./helpers/harness.js";
import { usePostgres } from "./setup/postgres.js";

const DEMO = new URL("../scripts/demo.mjs", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "twin-bg-demo-"));

/**
 * A running demo and what it printed so far.
 */
interface IDemoRun {
	child: ChildProcess;
	output: { stdout: string; stderr: string };
	exited: Promise<number | null>;
}

/**
 * Start the demo.
 * @param args The arguments.
 * @param timeout A bound, not a wait: a demo still running after it is killed and its test fails.
 * @returns The run.
 */
function startDemo(args: string[], timeout = 40000): IDemoRun {
	const child = spawn(process.execPath, [DEMO, ...args], {
		cwd: ROOT,
		stdio: ["ignore", "pipe", "pipe"],
		timeout,
		killSignal: "SIGKILL"
	});
	const output = { stdout: "", stderr: "" };
	child.stdout?.on("data", chunk => (output.stdout += String(chunk)));
	child.stderr?.on("data", chunk => (output.stderr += String(chunk)));
	const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
	return { child, output, exited };
}

/**
 * Run the demo to the end.
 * @param args The arguments.
 * @param timeout The bound of the run, ms.
 * @returns The exit code and output.
 */
async function runDemo(
	args: string[],
	timeout?: number
): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const run = startDemo(args, timeout);
	const code = await run.exited;
	return { code, ...run.output };
}

/**
 * The summary row of a type, as numbers where they are numbers.
 * @param stdout The demo output.
 * @param type The type (or "all").
 * @returns The columns by header name.
 */
function summaryRow(stdout: string, type: string): { [column: string]: string } {
	const lines = stdout.split("\n");
	const headerIndex = lines.findIndex(l => l.startsWith("type "));
	expect(headerIndex, stdout).toBeGreaterThanOrEqual(0);
	const header = lines[headerIndex].split(/\s{2,}/);
	const row = lines.slice(headerIndex + 2).find(l => l.startsWith(`${type} `));
	expect(row, stdout).toBeDefined();
	let cells = (row as string).split(/\s{2,}/);
	if (type === "all") {
		// The total row has no concurrency.
		cells = [cells[0], "", ...cells.slice(1)];
	}
	return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
}

afterAll(() => {
	rmSync(scratch, { recursive: true, force: true });
});

describe("demo (npm start)", () => {
	test("runs the tasks to the end and prints a summary per type, without progress bars when piped", async () => {
		const { code, stdout, stderr } = await runDemo(["--tasks", "30", "--workers", "2"]);
		expect(stderr).toBe("");
		expect(code, stdout).toBe(0);
		expect(stdout).toContain("store memory");
		expect(stdout).toContain("Summary: finished");
		// Not a TTY: no escape sequences (progress bars) in the output.
		expect(stdout).not.toContain("\u001b[");
		for (const type of ["cpu", "flaky", "slow"]) {
			const row = summaryRow(stdout, type);
			expect(row.tasks).toBe("10");
			expect(Number(row.success) + Number(row.failed)).toBe(10);
			expect(row.unfinished).toBe("0");
			expect(Number(row["tasks/s"])).toBeGreaterThan(0);
			expect(row["p50 start"]).toMatch(/^\d+(\.\d)? m?s$/);
			expect(row["p99 start"]).toMatch(/^\d+(\.\d)? m?s$/);
		}
		expect(summaryRow(stdout, "all").tasks).toBe("30");
		expect(Number(summaryRow(stdout, "flaky").retries)).toBeGreaterThanOrEqual(0);
	});

	test("--help prints the options and exits 0", async () => {
		const { code, stdout } = await runDemo(["--help"]);
		expect(code).toBe(0);
		expect(stdout).toContain("Usage: npm start -- [options]");
		expect(stdout).toContain("--store <kind>");
	});

	test.each([
		[["--bogus"], "Unknown option '--bogus'"],
		[["--tasks", "0"], "--tasks must be a whole number of at least 1"],
		[["--store", "sqlite"], "--store must be one of memory, file, postgres"],
		[["--nodes", "3"], "--nodes only applies to --store postgres"],
		[["--store", "postgres", "--nodes", "0"], "--nodes must be a whole number from 1 to 16"],
		[["--store", "postgres", "--nodes", "17"], "--nodes must be a whole number from 1 to 16"],
		[["--store", "postgres", "--nodes", "2.5"], "--nodes must be a whole number from 1 to 16"],
		[["stray"], "Unexpected argument 'stray'"]
	])("a bad command line %j exits 2 with a clear message", async (args, message) => {
		const { code, stdout, stderr } = await runDemo(args);
		expect(code).toBe(2);
		expect(stderr).toContain(message);
		expect(stderr).toContain("--help");
		expect(stdout).toBe("");
	});

	test("Ctrl-C stops gracefully and says what remains; the next run on the file store resumes it", async () => {
		const dir = join(scratch, "file-store");
		// One slow task at a time: the run lasts long enough to be interrupted.
		const args = [
			"--store",
			"file",
			"--dir",
			dir,
			"--tasks",
			"60",
			"--workers",
			"2",
			"--slow-concurrency",
			"1"
		];
		const first = startDemo(args);
		await waitFor(
			() => first.output.stdout.includes("Created 60 tasks"),
			20000,
			"the tasks to be created"
		);
		first.child.kill("SIGINT");
		expect(await first.exited, first.output.stdout + first.output.stderr).toBe(130);
		expect(first.output.stdout).toContain("Summary: interrupted");
		const remain = /(\d+) tasks remain for the next run/.exec(first.output.stdout);
		expect(remain, first.output.stdout).not.toBeNull();
		const remaining = Number(remain?.[1]);
		expect(remaining).toBeGreaterThan(0);
		expect(summaryRow(first.output.stdout, "all").unfinished).toBe(String(remaining));

		const second = await runDemo(args);
		expect(second.code, second.stdout + second.stderr).toBe(0);
		expect(second.stdout).toContain(`Resuming ${remaining} unfinished tasks from the previous run`);
		const all = summaryRow(second.stdout, "all");
		expect(all.tasks).toBe(String(remaining));
		expect(all.unfinished).toBe("0");
		expect(Number(all.success) + Number(all.failed)).toBe(remaining);
	});

	test("--store postgres --nodes 3 without --url: three node processes on its own throw-away server, none lost, none run twice", async () => {
		const started = Date.now();
		const { code, stdout, stderr } = await runDemo(
			["--store", "postgres", "--nodes", "3", "--tasks", "45", "--workers", "2"],
			25000
		);
		expect(stderr).toBe("");
		expect(code, stdout).toBe(0);
		expect(Date.now() - started).toBeLessThan(20000);
		expect(stdout).toContain("No --url: starting a throw-away PostgreSQL server");
		expect(stdout).toContain("3 node processes on PostgreSQL");
		expect(stdout).toContain("native backend, config.postgresql");
		expect(stdout).not.toContain("\u001b[");
		expect(stdout).toMatch(/Created 45 tasks across 3 nodes \(15 \+ 15 \+ 15\)/);
		expect(stdout).toContain("Summary: finished");
		expect(stdout).toMatch(
			/None lost: 45 tasks created across 3 nodes, 45 in the table, all final \(\d+ success, \d+ failed\)\./
		);
		const twice =
			/No task ran twice: (\d+) handler executions logged by the handlers for 45 tasks and (\d+) retries;/.exec(
				stdout
			);
		expect(twice, stdout).not.toBeNull();
		// Every attempt is one execution: the first of each task, and one per retry.
		expect(Number(twice?.[1])).toBe(45 + Number(twice?.[2]));
		expect(stdout).not.toMatch(/LOST|RAN TWICE|MISSING EXECUTIONS/);
		// A row per node and a total: executions from the logs match the attempts the nodes reported.
		const lines = stdout.split("\n");
		const header = lines.findIndex(l => l.startsWith("node "));
		expect(header, stdout).toBeGreaterThanOrEqual(0);
		const columns = lines[header].split(/\s{2,}/);
		const rows = lines.slice(header + 2, header + 6).map(l => {
			const cells = l.split(/\s{2,}/);
			return Object.fromEntries(
				columns.map((c, i) => [c, l.startsWith("all") && i > 0 ? cells[i - 1] : cells[i]])
			);
		});
		expect(rows.map(r => r.node)).toEqual(["1", "2", "3", "all"]);
		for (const row of rows.slice(0, 3)) {
			expect(row.created).toBe("15");
			expect(row.executions).toBe(row.attempts);
		}
		expect(rows[3].executions).toBe(twice?.[1]);
		// The throw-away server and its directory are gone.
		const dataDir = /data in (\S+)\)/.exec(stdout)?.[1];
		expect(dataDir, stdout).toBeDefined();
		expect(existsSync(dataDir as string)).toBe(false);
	}, 30000);

	describe("on PostgreSQL", () => {
		const postgresServer = usePostgres();

		test("--store postgres creates its table and runs the tasks", async () => {
			const pg = await postgresServer();
			const url = `postgres://${pg.user}:secret@${pg.host}:${pg.port}/some_other_db`;
			const { code, stdout, stderr } = await runDemo([
				"--store",
				"postgres",
				"--url",
				url,
				"--table",
				"demo_task",
				"--tasks",
				"30",
				"--workers",
				"2"
			]);
			expect(stderr).toBe("");
			expect(code, stdout).toBe(0);
			expect(stdout).toContain(`store postgres (${pg.host}:${pg.port}, table demo_task)`);
			expect(stdout).toContain("ignores the database in the URL ('some_other_db')");
			expect(summaryRow(stdout, "all").tasks).toBe("30");
			expect(summaryRow(stdout, "all").unfinished).toBe("0");
			const columns = await pg.sql`
				SELECT data_type FROM information_schema.columns
				WHERE table_name = 'demo_task' AND column_name = 'retainUntil'`;
			expect(columns.map(c => c.data_type)).toEqual(["bigint"]);
		});
	});
});
