// Handler context (issue 11, item 9): handlers are called exactly as before, and can ask for their
// context with getTaskContext(): the task id and type, the attempt, the retries left, and an
// AbortSignal that fires on the timeout and on stop() past shutdownTimeout. In both execution
// modes, through handler modules that load the package by its name: as an ES module (the built
// dist/esm) and through require() (the built dist/cjs), while the connector runs from dist/esm
// (src/ with TEST_FROM_SRC=1, vitest.config.ts).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import { getTaskContext, type ITaskContext } from "../src/index.js";
import { createConnector, waitFor, waitForStatus } from "./helpers/harness.js";
import { linkPackage, readmeBlock, REPO_ROOT } from "./helpers/readme.js";
import { storageIdOf } from "./helpers/tasks.js";
import {
	MODES,
	openGate,
	readLog,
	scratch,
	starts,
	statusRecorder,
	storeTask,
	waitForStarts
} from "./fixtures/support.js";

const ESM_HANDLERS = new URL("./fixtures/context-handlers.mjs", import.meta.url).href;
const FREE_HANDLERS = new URL("./fixtures/context-free-handler.mjs", import.meta.url).href;
const LAZY_HANDLERS = new URL("./fixtures/context-lazy-handlers.mjs", import.meta.url).href;
const CJS_HANDLERS = fileURLToPath(new URL("./fixtures/context-handlers.cjs", import.meta.url));

/**
 * The lines of a log that start with a prefix, split into words.
 * @param log The log file.
 * @param prefix The first word.
 * @returns The lines' words.
 */
function linesOf(log: string, prefix: string): string[][] {
	return readLog(log)
		.filter(line => line.startsWith(`${prefix} `))
		.map(line => line.split(" "));
}

/**
 * The thread a handler reported in its "start <id> <threadId>" line.
 * @param log The log file.
 * @param id The task's id in the payload.
 * @returns The thread id.
 */
function startThread(log: string, id: string): number {
	const line = linesOf(log, "start").find(words => words[1] === id);
	return Number(line?.[2]);
}

/**
 * Wait until the log has "aborted <id> <reason>" and return the reason.
 * @param log The log file.
 * @param id The task's id in the payload.
 * @returns The reason's name.
 */
async function waitForAbort(log: string, id: string): Promise<string> {
	return waitFor(
		() => linesOf(log, "aborted").find(words => words[1] === id)?.[2],
		10000,
		`the handler of ${id} to see its signal fire`
	);
}

test("getTaskContext() is undefined outside a handler", () => {
	expect(getTaskContext()).toBeUndefined();
});

describe.each(MODES)("handler context in %s mode", executionMode => {
	test("the context names the task, the arguments are unchanged, and it is undefined outside the handler", async () => {
		const { connector, start } = createConnector({ executionMode });
		const contexts: (ITaskContext | undefined)[] = [];
		const { seen, callback } = statusRecorder(() => {
			contexts.push(getTaskContext());
		});
		await connector.registerHandler("ctx", ESM_HANDLERS, "context", callback);
		await start();
		const withPayload = await connector.create("ctx", { a: 1 }, { retainFor: -1, retryCount: 2 });
		const without = await connector.create("ctx", undefined, { retainFor: -1 });

		const task = await waitForStatus(connector, withPayload, [
			TaskStatus.Success,
			TaskStatus.Failed
		]);
		expect(task.status).toBe(TaskStatus.Success);
		expect(task.result).toMatchObject({
			argCount: 2,
			context: {
				taskId: storageIdOf(withPayload),
				type: "ctx",
				retriesRemaining: 2,
				// Created without a queue option: the task records no attempts.
				hasAttempt: false,
				signalIsAbortSignal: true,
				aborted: false
			},
			sameAfterAwait: true,
			// Evaluating the handler module is not running a handler.
			atLoad: null
		});
		const bare = await waitForStatus(connector, without, [TaskStatus.Success, TaskStatus.Failed]);
		expect(bare.result).toMatchObject({
			argCount: 1,
			context: { taskId: storageIdOf(without), type: "ctx", retriesRemaining: 0 }
		});
		// The state-change callbacks ran outside any handler.
		expect(seen.get(storageIdOf(withPayload))).toEqual([TaskStatus.Processing, TaskStatus.Success]);
		expect(contexts.length).toBeGreaterThanOrEqual(4);
		expect(contexts.every(c => c === undefined)).toBe(true);
		expect(getTaskContext()).toBeUndefined();
	});

	test("a long handler keeps its context while other handlers start and end", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, concurrency: 2 });
		await connector.registerHandler("ctx", ESM_HANDLERS, "context");
		await start();
		const long = await connector.create(
			"ctx",
			{ id: "long", log: files.log, gate: files.gate },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		for (let i = 0; i < 3; i++) {
			const quick = await connector.create("ctx", { id: `q${i}` }, { retainFor: -1 });
			const task = await waitForStatus(connector, quick, [TaskStatus.Success]);
			expect(task.result).toMatchObject({ context: { taskId: storageIdOf(quick) } });
		}
		openGate(files.gate);
		const task = await waitForStatus(connector, long, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.result).toMatchObject({
			context: { taskId: storageIdOf(long) },
			sameAfterAwait: true
		});
	});

	test("the attempt counts when the task records attempts, and the retries left count down", async () => {
		const files = scratch();
		// A task written straight into storage is found by the poll.
		const { connector, start, storage } = createConnector({ executionMode, pollInterval: 100 });
		await connector.registerHandler("ctxlog", ESM_HANDLERS, "context");
		await start();
		const payload = { log: files.log, fail: true };
		const recorded = await storeTask(storage, {
			type: "ctxlog",
			payload,
			attempts: 0,
			retriesRemaining: 2,
			retryInterval: 1
		});
		const task = await waitForStatus(connector, recorded, [TaskStatus.Failed]);
		expect(task.retriesRemaining).toBe(0);
		const logged = readLog(files.log).map(line => JSON.parse(line));
		expect(logged.map(c => [c.taskId, c.attempt, c.retriesRemaining])).toEqual([
			[storageIdOf(recorded), 1, 2],
			[storageIdOf(recorded), 2, 1],
			[storageIdOf(recorded), 3, 0]
		]);

		// A task stored as the original stores it: no attempt, the same retries left.
		const other = scratch();
		const plain = await connector.create(
			"ctxlog",
			{ log: other.log, fail: true },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		await waitForStatus(connector, plain, [TaskStatus.Failed]);
		expect(
			readLog(other.log)
				.map(line => JSON.parse(line))
				.map(c => [c.hasAttempt, c.attempt, c.retriesRemaining])
		).toEqual([
			[false, null, 1],
			[false, null, 0]
		]);
	});

	test("a handler module loading the package with require() or import sees its context", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("cjs", CJS_HANDLERS, "context");
		await connector.registerHandler("esm", ESM_HANDLERS, "context");
		await start();
		const viaCjs = await connector.create("cjs", { c: 1 }, { retainFor: -1, retryCount: 1 });
		const viaEsm = await connector.create("esm", { e: 1 }, { retainFor: -1 });
		const cjsTask = await waitForStatus(connector, viaCjs, [TaskStatus.Success, TaskStatus.Failed]);
		expect(cjsTask.result).toMatchObject({
			via: "cjs",
			argCount: 2,
			context: { taskId: storageIdOf(viaCjs), type: "cjs", retriesRemaining: 1, aborted: false }
		});
		const esmTask = await waitForStatus(connector, viaEsm, [TaskStatus.Success, TaskStatus.Failed]);
		expect(esmTask.result).toMatchObject({
			argCount: 2,
			context: { taskId: storageIdOf(viaEsm), type: "esm", retriesRemaining: 0 }
		});
	});

	test("reportProgress through the CommonJS build is stored; after a timeout, the value that reached the connector", async () => {
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("progress-cjs", CJS_HANDLERS, "progress");
		await connector.registerHandler(
			"progress-timeout",
			ESM_HANDLERS,
			"progressThenHonour",
			undefined,
			{ timeout: 300 }
		);
		await start();
		const viaCjs = await connector.create("progress-cjs", { steps: 3 }, { retainFor: -1 });
		const timed = await connector.create("progress-timeout", {}, { retainFor: -1 });
		const cjsTask = await waitForStatus(connector, viaCjs, [TaskStatus.Success, TaskStatus.Failed]);
		expect(cjsTask.result).toEqual({ reported: 3 });
		expect(cjsTask.progress).toEqual({ via: "cjs", step: 3 });
		// A timed-out attempt has no outcome of the handler's own: the progress recorded is the last
		// that reached the connector while the handler ran.
		const timedTask = await waitForStatus(connector, timed, [TaskStatus.Failed]);
		expect(timedTask.error?.name).toBe("TimeoutError");
		expect(timedTask.progress).toEqual({ phase: "waiting" });
	});

	test("the signal fires on the timeout; a handler honouring it ends and the attempt fails with the timeout error", async () => {
		const files = scratch();
		// A grace far longer than the test: the handler ends long before it.
		const { connector, start } = createConnector({
			executionMode,
			maxWorkers: 1,
			abortGrace: 20000
		});
		await connector.registerHandler("honour", ESM_HANDLERS, "honour", undefined, { timeout: 200 });
		await connector.registerHandler("thread", ESM_HANDLERS, "whichThread");
		await start();
		const id = await connector.create("honour", { id: "h", log: files.log }, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success], 10000);
		expect(task.status).toBe(TaskStatus.Failed);
		// The same stored error as a timeout without a context.
		expect(task.error).toMatchObject({ name: "TimeoutError" });
		expect(task.error?.message).toContain("200 ms");
		expect(await waitForAbort(files.log, "h")).toBe("TimeoutError");

		// Its worker was not terminated: the only one serves the next task.
		const next = await connector.create("thread", undefined, { retainFor: -1 });
		const nextTask = await waitForStatus(connector, next, [TaskStatus.Success]);
		expect((nextTask.result as { threadId: number }).threadId).toBe(startThread(files.log, "h"));
	});

	test("a handler ignoring the signal is still stopped: its attempt fails with the timeout error", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, maxWorkers: 1, abortGrace: 300 });
		await connector.registerHandler("ignore", ESM_HANDLERS, "ignore", undefined, { timeout: 100 });
		await connector.registerHandler("thread", ESM_HANDLERS, "whichThread");
		await start();
		const id = await connector.create(
			"ignore",
			{ id: "i", log: files.log, gate: files.gate },
			{ retainFor: -1 }
		);
		const task = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task.error).toMatchObject({ name: "TimeoutError" });
		expect(await waitForAbort(files.log, "i")).toBe("TimeoutError");
		const next = await connector.create("thread", undefined, { retainFor: -1 });
		const threadId = (
			(await waitForStatus(connector, next, [TaskStatus.Success])).result as {
				threadId: number;
			}
		).threadId;
		if (executionMode === "worker") {
			// Terminated after the grace and replaced: the next task runs on a new thread.
			expect(threadId).not.toBe(startThread(files.log, "i"));
			expect(linesOf(files.log, "end")).toEqual([]);
		} else {
			// Inline: the attempt failed at once and the handler carries on until it ends.
			openGate(files.gate);
			await waitFor(() => linesOf(files.log, "end").length === 1, 10000, "the handler to end");
		}
	});

	test("stop() past shutdownTimeout fires the signal; a handler honouring it is recorded as usual", async () => {
		const files = scratch();
		const { connector, start } = createConnector({
			executionMode,
			shutdownTimeout: 100,
			abortGrace: 20000
		});
		const { seen, callback } = statusRecorder();
		await connector.registerHandler("honour", ESM_HANDLERS, "honour", callback);
		await start();
		const id = await connector.create("honour", { id: "s", log: files.log }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		const before = Date.now();
		await connector.stop("test");
		// The grace ended when the handler did, not after 20 s.
		expect(Date.now() - before).toBeLessThan(10000);
		expect(await waitForAbort(files.log, "s")).toBe("AbortError");
		const task = await connector.get(id);
		expect(task).toMatchObject({
			status: TaskStatus.Success,
			result: { aborted: true, reason: "AbortError" }
		});
		expect(seen.get(storageIdOf(id))).toEqual([TaskStatus.Processing, TaskStatus.Success]);
	});

	test("stop() past shutdownTimeout and abortGrace leaves a handler ignoring the signal processing", async () => {
		const files = scratch();
		const { connector, start } = createConnector({
			executionMode,
			shutdownTimeout: 100,
			abortGrace: 300
		});
		await connector.registerHandler("ignore", ESM_HANDLERS, "ignore");
		await start();
		const id = await connector.create(
			"ignore",
			{ id: "g", log: files.log, gate: files.gate },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		const before = Date.now();
		await connector.stop("test");
		expect(Date.now() - before).toBeGreaterThanOrEqual(350);
		expect(await waitForAbort(files.log, "g")).toBe("AbortError");
		// Not recorded: it stays processing for the next start to recover.
		expect((await connector.get(id))?.status).toBe(TaskStatus.Processing);
	});
});

describe("handler context in inline mode", () => {
	test("a task created by a handler does not inherit its context, in its handler or its callbacks", async () => {
		const { connector, start } = createConnector({ executionMode: "inline" });
		const key = Symbol.for("tests/context.spec.ts connector");
		(globalThis as { [key]?: unknown })[key] = connector;
		try {
			const contexts: (ITaskContext | undefined)[] = [];
			const { callback } = statusRecorder(() => {
				contexts.push(getTaskContext());
			});
			await connector.registerHandler("parent", ESM_HANDLERS, "spawnTask");
			await connector.registerHandler("child", ESM_HANDLERS, "context", callback);
			await start();
			const parent = await connector.create("parent", { type: "child" }, { retainFor: -1 });
			const parentTask = await waitForStatus(connector, parent, [
				TaskStatus.Success,
				TaskStatus.Failed
			]);
			const child = (parentTask.result as { child: string }).child;
			const childTask = await waitForStatus(connector, child, [TaskStatus.Success]);
			expect(childTask.result).toMatchObject({
				context: { taskId: storageIdOf(child), type: "child" }
			});
			expect(contexts).toHaveLength(2);
			expect(contexts).toEqual([undefined, undefined]);
		} finally {
			delete (globalThis as { [key]?: unknown })[key];
		}
	});
});

describe("handler context in worker mode", () => {
	test("a worker runs handlers in a context store only once a handler module loaded the package", async () => {
		const { connector, start } = createConnector({ maxWorkers: 1 });
		await connector.registerHandler("free", FREE_HANDLERS, "storeInThread");
		await connector.registerHandler("ctx", ESM_HANDLERS, "context");
		await start();
		const before = await connector.create("free", undefined, { retainFor: -1 });
		const first = (await waitForStatus(connector, before, [TaskStatus.Success])).result as {
			hasStore: boolean;
			threadId: number;
		};
		expect(first.hasStore).toBe(false);
		const ctx = await connector.create("ctx", { c: 1 }, { retainFor: -1 });
		expect((await waitForStatus(connector, ctx, [TaskStatus.Success])).result).toMatchObject({
			context: { taskId: storageIdOf(ctx) },
			threadId: first.threadId
		});
		const after = await connector.create("free", undefined, { retainFor: -1 });
		expect((await waitForStatus(connector, after, [TaskStatus.Success])).result).toEqual({
			hasStore: true,
			threadId: first.threadId
		});
	});

	test("a thread tracks contexts across awaits only from its first getTaskContext() on, and a context read before the first await stays valid", async () => {
		// One worker, whose handler module never asks for a context as it loads.
		const { connector, start } = createConnector({ maxWorkers: 1 });
		await connector.registerHandler("state", LAZY_HANDLERS, "trackedState");
		await connector.registerHandler("late", LAZY_HANDLERS, "lateFirst");
		await connector.registerHandler("sync", LAZY_HANDLERS, "syncFirst");
		await start();
		const run = async (type: string): Promise<{ [key: string]: unknown }> => {
			const id = await connector.create(type, undefined, { retainFor: -1 });
			const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
			expect(task.status).toBe(TaskStatus.Success);
			return { ...(task.result as object), id: storageIdOf(id) };
		};

		// No handler has asked: the thread does not track (Node 20's async hooks stay off).
		const before = await run("state");
		expect(before.tracked).toBe(false);
		// The first ask comes after an await: no context for this call, but tracking is on now.
		const first = await run("late");
		expect(first).toMatchObject({ first: null, second: null, threadId: before.threadId });
		const tracked = await run("state");
		expect(tracked).toMatchObject({ tracked: true, threadId: before.threadId });
		// Every later call has its context after any await.
		const later = await run("late");
		expect(later).toMatchObject({ first: later.id, second: later.id, threadId: before.threadId });
		const sync = await run("sync");
		expect(sync).toMatchObject({ kept: sync.id, keptSignal: true, afterAwait: sync.id });
	});

	test("the first call of a thread that reads its context before its first await gets it", async () => {
		const { connector, start } = createConnector({ maxWorkers: 1 });
		await connector.registerHandler("sync", LAZY_HANDLERS, "syncFirst");
		await start();
		const id = await connector.create("sync", undefined, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		// Kept from the synchronous part of the call; asked again after the await, the first call
		// of the thread has none (it did not run inside the store).
		expect(task.result).toMatchObject({
			kept: storageIdOf(id),
			keptSignal: true,
			afterAwait: null
		});
	});

	test("config trackTaskContext: the first handler call of a thread has its context after an await", async () => {
		const { connector, start } = createConnector({ maxWorkers: 1, trackTaskContext: true });
		await connector.registerHandler("late", LAZY_HANDLERS, "lateFirst");
		await start();
		const id = await connector.create("late", undefined, { retainFor: -1 });
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.result).toMatchObject({ first: storageIdOf(id), second: storageIdOf(id) });
	});

	test("a task waiting for a worker when stop()'s signal fires does not start in the grace", async () => {
		const files = scratch();
		const config = {
			maxWorkers: 1,
			concurrency: 2,
			shutdownTimeout: 100,
			abortGrace: 20000
		};
		const { connector, start, storage } = createConnector(config);
		await connector.registerHandler("honour", ESM_HANDLERS, "honour");
		await connector.registerHandler("waits", ESM_HANDLERS, "logged");
		await start();
		const running = await connector.create(
			"honour",
			{ id: "r", log: files.log },
			{ retainFor: -1 }
		);
		await waitForStarts(files.log, 1);
		// Claimed, and waiting for the only worker.
		const waiting = await connector.create("waits", { id: "w", log: files.log }, { retainFor: -1 });
		await waitForStatus(connector, waiting, [TaskStatus.Processing]);
		await connector.stop("test");

		expect((await connector.get(running))?.status).toBe(TaskStatus.Success);
		expect((await connector.get(waiting))?.status).toBe(TaskStatus.Processing);
		expect(starts(files.log).map(s => s.split(" ")[0])).toEqual(["r"]);

		// The next start recovers it and runs it once.
		const second = createConnector(config, storage);
		await second.connector.registerHandler("waits", ESM_HANDLERS, "logged");
		await second.start();
		await waitForStatus(second.connector, waiting, [TaskStatus.Success]);
		expect(starts(files.log).map(s => s.split(" ")[0])).toEqual(["r", "w"]);
	});
});

/**
 * Run a README example as pasted, from a directory where the package and the example's imports
 * are installed (linked to this repository's build and node_modules).
 * @param files The example's files, the last one run.
 * @returns What it printed, as lines.
 */
async function runReadmeExample(files: string[]): Promise<string[]> {
	const dir = mkdtempSync(join(tmpdir(), "readme-context-"));
	try {
		linkPackage(dir, "@twin-fast/background-task-connector-entity-storage", REPO_ROOT);
		for (const name of [
			"@twin.org/entity-storage-connector-memory",
			"@twin.org/entity-storage-models"
		]) {
			linkPackage(dir, name, join(REPO_ROOT, "node_modules", name));
		}
		for (const file of files) {
			writeFileSync(join(dir, file), readmeBlock(file));
		}
		const { stdout } = await promisify(execFile)(process.execPath, [files[files.length - 1]], {
			cwd: dir,
			encoding: "utf8",
			timeout: 30000
		});
		return stdout.trim().split("\n");
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

describe("README handler context examples", () => {
	test("runs as pasted: both attempts time out, the handler seeing its context", async () => {
		const lines = await runReadmeExample(["reportHandlers.mjs", "reportMain.mjs"]);
		expect(lines).toHaveLength(3);
		expect(lines[0]).toMatch(/^task [0-9a-f]{32}: attempt \(not recorded\), 1 retries left$/);
		expect(lines[1]).toMatch(/^task [0-9a-f]{32}: attempt \(not recorded\), 0 retries left$/);
		expect(lines[2]).toBe("failed TimeoutError");
	});

	test("the progress example runs as pasted: progress while the task runs, the last value with the outcome", async () => {
		const lines = await runReadmeExample(["progressHandlers.mjs", "progressMain.mjs"]);
		expect(lines.at(-1)).toBe("success { done: 200, of: 200 }");
		const running = lines.slice(0, -1);
		expect(running.length).toBeGreaterThanOrEqual(1);
		for (const line of running) {
			expect(line).toMatch(/^progress \{ done: \d+, of: 200 \}$/);
		}
	});
});
