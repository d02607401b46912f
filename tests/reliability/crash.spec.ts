// Crash recovery (issue 6, item 2; SPEC section 6 "a process killed mid-task"): the built package
// runs in a child process over the TWIN file entity-storage connector; the process is killed with
// SIGKILL while handlers are running, a new process is started over the same store, and the
// per-execution side-effect log shows that every task completed, that the tasks running at a kill
// ran again (at least once delivery) and that no other task ran twice.
//
// The kills happen while every slot is held by a running handler, so no storage write is in flight:
// the file connector rewrites store.json in place (not atomically), and a kill in the middle of that
// write would lose the whole file, which is the file connector's weakness, not this package's.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { waitFor } from "../helpers/harness.js";

const CHILD = new URL("../fixtures/reliability-crash-child.mjs", import.meta.url).pathname;
const TASKS = 16;
const KEYS = Array.from({ length: TASKS }, (_, i) => `k${i.toString().padStart(2, "0")}`);

interface IChild {
	process: ChildProcess;
	lines: { event: string; [key: string]: unknown }[];
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	stderr: () => string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
	for (const child of children.splice(0)) {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill("SIGKILL");
		}
	}
	for (const dir of dirs.splice(0)) {
		rmSync(dir, { recursive: true, force: true });
	}
});

/**
 * Start a child process over the store in dir.
 * @param dir The test directory.
 * @param create How many tasks the child creates before starting.
 * @param hold The keys whose handler holds in this process.
 * @returns The child.
 */
function startChild(dir: string, create: number, hold: string[]): IChild {
	const child = spawn(process.execPath, [CHILD, dir, String(create)], {
		env: { ...process.env, RELIABILITY_CRASH_HOLD: hold.join(",") },
		stdio: ["ignore", "pipe", "pipe"]
	});
	children.push(child);
	const lines: IChild["lines"] = [];
	let out = "";
	let err = "";
	child.stdout?.on("data", (chunk: Buffer) => {
		out += chunk.toString();
		let nl = out.indexOf("\n");
		while (nl >= 0) {
			lines.push(JSON.parse(out.slice(0, nl)));
			out = out.slice(nl + 1);
			nl = out.indexOf("\n");
		}
	});
	child.stderr?.on("data", (chunk: Buffer) => {
		err += chunk.toString();
	});
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
		child.on("exit", (code, signal) => resolve({ code, signal }))
	);
	return { process: child, lines, exited, stderr: () => err };
}

/**
 * The side-effect log as start/end counts per key, and in order.
 * @param dir The test directory.
 * @returns The counts and the lines.
 */
function readEffects(dir: string): {
	starts: Map<string, number>;
	ends: Map<string, number>;
	lines: string[];
} {
	const file = join(dir, "effects.log");
	const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
	const starts = new Map<string, number>();
	const ends = new Map<string, number>();
	for (const line of lines) {
		const [key, kind] = line.split(" ");
		const counts = kind === "start" ? starts : ends;
		counts.set(key, (counts.get(key) ?? 0) + 1);
	}
	return { starts, ends, lines };
}

/**
 * The stored tasks by payload key, read straight from the file store.
 * @param dir The test directory.
 * @returns Status by key.
 */
function readStore(dir: string): Map<string, { status: string; result?: { key?: string } }> {
	const tasks = JSON.parse(readFileSync(join(dir, "store", "store.json"), "utf8")) as {
		status: string;
		payload: { key: string };
		result?: { key?: string };
	}[];
	return new Map(tasks.map(t => [t.payload.key, { status: t.status, result: t.result }]));
}

/**
 * Run a child until the held handlers have started, then kill it with SIGKILL.
 * @param dir The test directory.
 * @param create How many tasks the child creates.
 * @param hold The keys held in this process.
 * @returns The log and the keys in processing at the kill.
 */
async function runAndKill(
	dir: string,
	create: number,
	hold: string[]
): Promise<{
	startedNotEnded: string[];
	processing: string[];
	effects: ReturnType<typeof readEffects>;
}> {
	const before = readEffects(dir);
	const child = startChild(dir, create, hold);
	await waitFor(
		() => {
			if (child.process.exitCode !== null) {
				throw new Error(`child exited early (${child.process.exitCode}): ${child.stderr()}`);
			}
			const now = readEffects(dir);
			return hold.every(key => (now.starts.get(key) ?? 0) > (before.starts.get(key) ?? 0));
		},
		15000,
		`the held handlers ${hold.join(",")} to start`
	);
	child.process.kill("SIGKILL");
	const exit = await child.exited;
	expect(exit.signal).toBe("SIGKILL");

	const effects = readEffects(dir);
	const store = readStore(dir);
	const processing = [...store].filter(([, t]) => t.status === "processing").map(([key]) => key);
	// Started in this process and not ended in it: the handlers running at the kill.
	const lines = effects.lines.slice(before.lines.length);
	const startedNotEnded = KEYS.filter(
		key => lines.includes(`${key} start`) && !lines.includes(`${key} end`)
	);
	return { startedNotEnded, processing, effects };
}

describe("crash recovery over the file store", () => {
	test("SIGKILL mid-task twice: every task completes, only the tasks running at a kill run twice", async () => {
		const dir = mkdtempSync(join(tmpdir(), "reliability-crash-"));
		dirs.push(dir);

		// Process 1 creates the tasks and is killed while k06 and k07 hold both slots.
		const first = await runAndKill(dir, TASKS, ["k06", "k07"]);
		expect(first.startedNotEnded.sort()).toEqual(["k06", "k07"]);
		// Storage agrees: exactly the running tasks are left processing; those before them are done.
		expect(first.processing.sort()).toEqual(["k06", "k07"]);
		for (const key of ["k00", "k01", "k02", "k03", "k04", "k05"]) {
			expect(first.effects.ends.get(key), key).toBe(1);
		}

		// Process 2 recovers k06/k07, runs on, and is killed while k11 and k12 hold both slots.
		const second = await runAndKill(dir, 0, ["k11", "k12"]);
		expect(second.startedNotEnded.sort()).toEqual(["k11", "k12"]);
		expect(second.processing.sort()).toEqual(["k11", "k12"]);
		expect(second.effects.ends.get("k06")).toBe(1);
		expect(second.effects.ends.get("k07")).toBe(1);

		// Process 3 runs to the end and exits on its own.
		const third = startChild(dir, 0, []);
		let exit: unknown;
		void third.exited.then(code => (exit = code));
		await waitFor(() => exit, 20000, "the third process to finish");
		expect(exit, third.stderr()).toEqual({ code: 0, signal: null });
		expect(third.lines.at(-1)).toEqual({ event: "done", tasks: TASKS });

		const effects = readEffects(dir);
		const ranTwice = KEYS.filter(key => effects.starts.get(key) === 2).sort();
		expect(ranTwice).toEqual(["k06", "k07", "k11", "k12"]);
		for (const key of KEYS) {
			expect({ key, ends: effects.ends.get(key) }).toEqual({ key, ends: 1 });
			expect({ key, starts: effects.starts.get(key) }).toEqual({
				key,
				starts: ranTwice.includes(key) ? 2 : 1
			});
		}
		const store = readStore(dir);
		expect(store.size).toBe(TASKS);
		for (const key of KEYS) {
			expect({ key, ...store.get(key) }).toEqual({ key, status: "success", result: { key } });
		}
	});
});
