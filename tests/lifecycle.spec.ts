// Lifecycle through the public API, in both execution modes: retain rules and the sweep, recovery
// of interrupted tasks on start, stop with running tasks (within and past shutdownTimeout), and a
// child process with the built package that must exit on its own after stop().
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import { createConnector, waitFor, waitForStatus } from "./helpers/harness.js";
import { storageIdOf } from "./helpers/tasks.js";
import {
	HANDLERS,
	MODES,
	openGate,
	readLog,
	scratch,
	starts,
	statusRecorder,
	storeTask,
	waitForStarts
} from "./fixtures/support.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD_STOP = fileURLToPath(new URL("./fixtures/child-stop.mjs", import.meta.url));
const CHILD_START_STOP = fileURLToPath(new URL("./fixtures/child-start-stop.mjs", import.meta.url));

/**
 * Run a child Node process and wait, within a bound, for it to exit on its own.
 * @param script The script.
 * @param args Its arguments.
 * @returns The exit code and output.
 */
async function runChild(
	script: string,
	...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const child = spawn(process.execPath, [script, ...args], {
		cwd: REPO_ROOT,
		stdio: ["ignore", "pipe", "pipe"]
	});
	let stdout = "";
	let stderr = "";
	let code: number | null | undefined;
	child.stdout.on("data", chunk => (stdout += chunk));
	child.stderr.on("data", chunk => (stderr += chunk));
	child.on("close", exitCode => (code = exitCode));
	try {
		await waitFor(() => code !== undefined, 15000, "the child process to exit on its own");
	} catch (err) {
		throw new Error(`${(err as Error).message}; stdout: ${stdout}; stderr: ${stderr}`);
	} finally {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill("SIGKILL");
		}
	}
	return { code: code ?? null, stdout, stderr };
}

describe.each(MODES)("lifecycle in %s mode", executionMode => {
	test("retainFor 0 removes a final task, -1 keeps it, n keeps it until the sweep after n ms", async () => {
		const { connector, start } = createConnector({ executionMode, cleanupInterval: 1000 });
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("echo", HANDLERS, "echo", callback);
		await connector.registerHandler("fail", HANDLERS, "fail", callback);
		await start();
		const removed = await connector.create("echo", { r: 0 });
		const removedFailed = await connector.create("fail", { r: 0 }, { retainFor: 0 });
		const forever = await connector.create("echo", { r: -1 }, { retainFor: -1 });
		// Kept long enough to be read as success on a loaded machine, short enough for the sweep
		// (every second) to remove it within the wait below.
		const short = await connector.create("echo", { r: 1500 }, { retainFor: 1500 });
		const long = await connector.create("echo", { r: 600000 }, { retainFor: 600000 });

		await waitFor(() => seen.get(storageIdOf(removed))?.includes(TaskStatus.Success));
		await waitFor(() => seen.get(storageIdOf(removedFailed))?.includes(TaskStatus.Failed));
		expect(await connector.get(removed)).toBeUndefined();
		expect(await connector.get(removedFailed)).toBeUndefined();

		const kept = await waitForStatus(connector, forever, [TaskStatus.Success]);
		expect(kept.dateRetainUntil).toBeUndefined();
		const shortTask = await waitForStatus(connector, short, [TaskStatus.Success]);
		expect(Date.parse(shortTask.dateRetainUntil ?? "")).toBe(
			Date.parse(shortTask.dateModified) + 1500
		);
		const longTask = await waitForStatus(connector, long, [TaskStatus.Success]);
		expect(Date.parse(longTask.dateRetainUntil ?? "")).toBe(
			Date.parse(longTask.dateModified) + 600000
		);

		// The sweep (every cleanupInterval) removes the short one once its retain date has passed.
		await waitFor(async () => (await connector.get(short)) === undefined, 8000, "the sweep");
		expect((await connector.get(forever))?.status).toBe(TaskStatus.Success);
		expect((await connector.get(long))?.status).toBe(TaskStatus.Success);
	});

	test("start() sweeps expired retained tasks before anything else", async () => {
		const { connector, start, storage } = createConnector({ executionMode });
		const past = Date.now() - 60000;
		const final = { status: TaskStatus.Success, dateNextProcess: undefined, retainFor: 10 };
		const expired = await storeTask(storage, { ...final, retainUntil: past });
		const expiredFailed = await storeTask(storage, {
			...final,
			status: TaskStatus.Failed,
			retainUntil: past
		});
		const notYet = await storeTask(storage, { ...final, retainUntil: Date.now() + 600000 });
		const forever = await storeTask(storage, { ...final, retainFor: -1, retainUntil: -1 });
		await start();
		expect(await connector.get(expired)).toBeUndefined();
		expect(await connector.get(expiredFailed)).toBeUndefined();
		expect((await connector.get(notYet))?.status).toBe(TaskStatus.Success);
		expect((await connector.get(forever))?.status).toBe(TaskStatus.Success);
	});

	test("start() recovers this thread's tasks left processing; other threads' are left alone", async () => {
		const files = scratch();
		const { connector, start, storage } = createConnector({ executionMode });
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("logged", HANDLERS, "logged", callback);
		const earlier = new Date(Date.now() - 5000).toISOString();
		const interrupted = await storeTask(storage, {
			type: "logged",
			status: TaskStatus.Processing,
			dateNextProcess: earlier,
			dateModified: earlier,
			payload: { id: "interrupted", log: files.log }
		});
		const otherThread = await storeTask(storage, {
			type: "logged",
			threadId: "7",
			status: TaskStatus.Processing,
			payload: { id: "other", log: files.log }
		});
		const future = await storeTask(storage, {
			type: "logged",
			dateNextProcess: new Date(Date.now() + 600000).toISOString(),
			payload: { id: "future", log: files.log }
		});
		await start();
		const task = await waitForStatus(connector, interrupted, [
			TaskStatus.Success,
			TaskStatus.Failed
		]);
		expect(task).toMatchObject({ status: TaskStatus.Success, result: { id: "interrupted" } });
		expect(seen.get(storageIdOf(interrupted))).toEqual([TaskStatus.Processing, TaskStatus.Success]);
		// A task created now runs after the recovered one; the others were not touched.
		const after = await connector.create(
			"logged",
			{ id: "after", log: files.log },
			{ retainFor: -1 }
		);
		await waitForStatus(connector, after, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["interrupted", "after"]);
		expect((await connector.get(otherThread))?.status).toBe(TaskStatus.Processing);
		expect((await connector.get(future))?.status).toBe(TaskStatus.Pending);
	});

	test("stop() waits for running tasks to be recorded and starts no new one", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const gate = { log: files.log, gate: files.gate };
		const running = await connector.create("gated", { ...gate, id: "r" }, { retainFor: -1 });
		const queued = await connector.create("gated", { ...gate, id: "q" }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		let stopped = false;
		const stopping = connector.stop("test").then(() => {
			stopped = true;
		});
		// The running task cannot finish before the gate opens, so stop() is still waiting.
		const late = await connector.create("gated", { ...gate, id: "l" }, { retainFor: -1 });
		expect(stopped).toBe(false);
		openGate(files.gate);
		await stopping;
		expect((await connector.get(running))?.status).toBe(TaskStatus.Success);
		expect((await connector.get(queued))?.status).toBe(TaskStatus.Pending);
		expect((await connector.get(late))?.status).toBe(TaskStatus.Pending);
		expect(starts(files.log)).toEqual(["r"]);

		// Started again, it carries on with what was left.
		await start();
		await waitForStatus(connector, queued, [TaskStatus.Success]);
		await waitForStatus(connector, late, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["r", "q", "l"]);
	});

	test("a task still running after shutdownTimeout stays processing and the next start runs it again", async () => {
		const files = scratch();
		const config = { executionMode, shutdownTimeout: 150 };
		const first = createConnector(config);
		await first.connector.registerHandler("gated", HANDLERS, "gated");
		await first.start();
		const id = await first.connector.create(
			"gated",
			{ id: "g", log: files.log, gate: files.gate },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		await first.connector.stop("test");
		expect((await first.connector.get(id))?.status).toBe(TaskStatus.Processing);

		// The gate opens: an inline handler abandoned by stop() finishes, but nothing is written.
		openGate(files.gate);
		if (executionMode === "inline") {
			await waitFor(
				() => readLog(files.log).includes("end g"),
				10000,
				"the abandoned handler to end"
			);
		}
		expect((await first.connector.get(id))?.status).toBe(TaskStatus.Processing);

		// A new instance over the same storage (a restarted node) recovers and runs it.
		const second = createConnector(config, first.storage);
		await second.connector.registerHandler("gated", HANDLERS, "gated");
		await second.start();
		const task = await waitForStatus(second.connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task).toMatchObject({ status: TaskStatus.Success, result: { id: "g" } });
		expect(starts(files.log)).toEqual(["g", "g"]);
	});

	test("after a restart, an attempt abandoned by stop() that ends late does not start a third one", async () => {
		const files = scratch();
		const { connector, start, storage } = createConnector({
			executionMode,
			shutdownTimeout: 100,
			pollInterval: 100
		});
		await connector.registerHandler("g", HANDLERS, "gatedPerAttempt");
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const payload = { id: "g", log: files.log, gate: files.gate, counter: files.counter("g") };
		const id = await connector.create("g", payload, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		await connector.stop("test");
		await start();
		// Recovered: the second attempt runs while the first may still be running (inline).
		expect(await waitForStarts(files.log, 2)).toEqual(["g-1", "g-2"]);
		openGate(files.gateFor(1));
		if (executionMode === "inline") {
			await waitFor(
				() => readLog(files.log).includes("end g-1"),
				10000,
				"the abandoned attempt to end"
			);
		}
		// Let polls run: each of these tasks is found only by a poll, the second after the first ran.
		for (const n of [1, 2]) {
			const polled = await storeTask(storage, { payload: { n } });
			await waitForStatus(connector, polled, [TaskStatus.Success]);
		}
		expect(starts(files.log)).toEqual(["g-1", "g-2"]);
		openGate(files.gateFor(2));
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task).toMatchObject({ status: TaskStatus.Success, result: { attempt: 2 } });
		expect(starts(files.log)).toEqual(["g-1", "g-2"]);
	});

	test("after a restart, remove() of the recovered attempt holds even when the abandoned one ends first", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, shutdownTimeout: 100 });
		await connector.registerHandler("g", HANDLERS, "gatedPerAttempt");
		await start();
		const payload = { id: "g", log: files.log, gate: files.gate, counter: files.counter("g") };
		const id = await connector.create("g", payload, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		await connector.stop("test");
		await start();
		expect(await waitForStarts(files.log, 2)).toEqual(["g-1", "g-2"]);
		openGate(files.gateFor(1));
		if (executionMode === "inline") {
			await waitFor(
				() => readLog(files.log).includes("end g-1"),
				10000,
				"the abandoned attempt to end"
			);
		}
		await connector.remove(id);
		openGate(files.gateFor(2));
		// Concurrency 1: once a later task of the type succeeds, the removed one has settled.
		const later = { ...payload, id: "later", counter: files.counter("later") };
		const next = await connector.create("g", later, { retainFor: -1 });
		await waitForStatus(connector, next, [TaskStatus.Success]);
		expect(await connector.get(id)).toBeUndefined();
	});

	test("start() called while stop() is still draining waits for it and ends started", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, shutdownTimeout: 5000 });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const gate = { log: files.log, gate: files.gate };
		await connector.create("gated", { ...gate, id: "draining" }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		const stopping = connector.stop("test");
		const starting = connector.start("test");
		openGate(files.gate);
		await Promise.all([stopping, starting]);
		const id = await connector.create("gated", { ...gate, id: "after" }, { retainFor: -1 });
		await waitForStatus(connector, id, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["draining", "after"]);
	});

	test("start() and stop() twice are harmless", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("logged", HANDLERS, "logged");
		await start();
		await connector.start("test");
		const id = await connector.create("logged", { id: "once", log: files.log }, { retainFor: -1 });
		await waitForStatus(connector, id, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["once"]);
		await connector.stop("test");
		await connector.stop("test");
		const pending = await connector.create(
			"logged",
			{ id: "later", log: files.log },
			{ retainFor: -1 }
		);
		expect((await connector.get(pending))?.status).toBe(TaskStatus.Pending);
	});

	test("a child process with the built package exits on its own after stop()", async () => {
		const { code, stdout, stderr } = await runChild(CHILD_STOP, executionMode);
		expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
		expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")).toEqual({
			done: true,
			succeeded: 20,
			hung: TaskStatus.Processing
		});
	});

	test("a child process that stops while start() is still running exits on its own", async () => {
		const { code, stdout, stderr } = await runChild(CHILD_START_STOP, executionMode);
		expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
		expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ done: true });
	});
});
