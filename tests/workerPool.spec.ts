// The executors' abort(taskId) (issue 22, item 4) is checked here too, on both executors.
//
// The worker pool holds no thread before it is needed (issue 9, item 5): the pool is created by
// the first job, starts workers as jobs need them and lets idle ones exit after the idle timeout.
// Inside a TWIN engine each handler's worker rebuilds the engine, which constructs and starts its
// own copy of this connector in that worker: those copies must not open threads of their own.
//
// The executor's own view (piscina's thread list) is checked in-process, with a short idle
// timeout; the OS view (/proc/self/task, Linux) in child processes running the built package, on
// the main thread and inside a worker thread.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test, vi } from "vitest";
import { NOT_STARTED, type IHandlerJob } from "../src/contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../src/domain/rules.js";
import { InlineExecutor } from "../src/execution/inlineExecutor.js";
import {
	InProcessRouting,
	registerInProcessHandler,
	unregisterInProcessHandler
} from "../src/execution/inProcessHandlers.js";
import {
	MAX_JOBS_PER_MESSAGE,
	MESSAGE_BUDGET_MS,
	QUICK_HANDLER_MS,
	QUICK_SLOT_DEPTH,
	WorkerPoolExecutor
} from "../src/execution/workerPoolExecutor.js";
import { waitFor } from "./helpers/harness.js";
import { HANDLERS, openGate, readLog, scratch } from "./fixtures/support.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/worker-threads-child.mjs", import.meta.url));
const SLEEP_HANDLER = new URL("./fixtures/sleepHandler.mjs", import.meta.url).href;

/**
 * The executor's internals these tests look at.
 */
interface IExecutorInternals {
	_threads?: { pool: { run: (...args: unknown[]) => Promise<unknown> } };
	_quick: {
		_costs: Map<string, Map<string, number>>;
		isQuick(job: IHandlerJob): boolean;
		costOf(job: IHandlerJob): number;
		learn(job: IHandlerJob, envelope: unknown): void;
	};
}

/**
 * Run a handler's jobs one at a time until the executor counts it as quick enough for a full
 * message (its average under MESSAGE_BUDGET_MS / MAX_JOBS_PER_MESSAGE; a call starved by the
 * machine's load raises it), within a bound.
 * @param executor The executor.
 * @param make Makes a job.
 */
async function learnQuick(executor: WorkerPoolExecutor, make: () => IHandlerJob): Promise<void> {
	const internals = executor as unknown as IExecutorInternals;
	const fullMessage = (): boolean =>
		internals._quick.isQuick(make()) &&
		internals._quick.costOf(make()) < MESSAGE_BUDGET_MS / MAX_JOBS_PER_MESSAGE;
	for (let i = 0; i < 500 && !fullMessage(); i++) {
		expect((await executor.run(make())).ok).toBe(true);
	}
	expect(fullMessage()).toBe(true);
}

/**
 * Tell the executor a handler's calls take ms on average, as if its workers had reported it.
 * @param executor The executor.
 * @param method The handler's method in HANDLERS.
 * @param ms The average, ms.
 */
function measured(executor: WorkerPoolExecutor, method: string, ms: number): void {
	(executor as unknown as IExecutorInternals)._quick.learn(job(method), { ok: true, ms });
}

/**
 * Watch the messages the executor sends to its pool (created by then).
 * @param executor The executor.
 * @returns The spy on the pool's run().
 */
function watchMessages(executor: WorkerPoolExecutor): ReturnType<typeof vi.fn> {
	const pool = (executor as unknown as IExecutorInternals)._threads?.pool;
	if (!pool) {
		throw new Error("the pool does not exist yet");
	}
	return vi.spyOn(pool, "run") as unknown as ReturnType<typeof vi.fn>;
}

/**
 * A job calling a handler fixture.
 * @param method The export.
 * @param payload The payload.
 * @returns The job.
 */
function job(method: string, payload: unknown = { n: 1 }): IHandlerJob {
	return { module: HANDLERS, method, payload, hasPayload: true };
}

/**
 * Run a child to its end, within a bound, and read its JSON line.
 * @param mode The child's mode.
 * @returns The thread counts it printed.
 */
async function childCounts(
	mode: "main" | "nested"
): Promise<{ before: number; started: number; ran: number; stopped: number }> {
	const child = spawn(process.execPath, [CHILD, mode], {
		cwd: REPO_ROOT,
		stdio: ["ignore", "pipe", "pipe"],
		timeout: 20_000,
		killSignal: "SIGKILL"
	});
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", chunk => (stdout += chunk));
	child.stderr.on("data", chunk => (stderr += chunk));
	const code = await new Promise<number | null>(resolve => child.on("close", resolve));
	expect(code, stderr).toBe(0);
	return JSON.parse(stdout.trim());
}

describe("worker pool executor", () => {
	test("an error piscina reports on the pool (a stray reply to an ended job) does not reach the host", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1 });
		try {
			expect((await executor.run(job("echo"))).ok).toBe(true);
			const pool = (executor as unknown as { _threads?: { pool: NodeJS.EventEmitter } })._threads
				?.pool;
			// piscina emits this for a worker's reply whose task it no longer knows; with no
			// listener, EventEmitter would throw it as an uncaught exception.
			expect(() => pool?.emit("error", new Error("Unexpected message from Worker"))).not.toThrow();
			expect((await executor.run(job("echo"))).ok).toBe(true);
		} finally {
			await executor.close();
		}
	});

	test("holds no thread until the first job, then exits idle workers after the idle timeout", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 2, workerIdleTimeout: 200 });
		try {
			expect(executor.threadCount).toBe(0);

			const outcomes = await Promise.all([executor.run(job("echo")), executor.run(job("echo"))]);
			expect(outcomes.map(o => o.ok)).toEqual([true, true]);
			expect(executor.threadCount).toBeGreaterThan(0);
			expect(executor.threadCount).toBeLessThanOrEqual(2);

			await waitFor(() => executor.threadCount === 0, 2000, "the idle workers to exit");

			// A later job starts a worker again.
			expect((await executor.run(job("echo"))).ok).toBe(true);
			expect(executor.threadCount).toBe(1);
		} finally {
			await executor.close();
		}
		expect(executor.threadCount).toBe(0);
	});

	test("a burst of jobs from a cold pool runs on every worker at once", async () => {
		const { log } = scratch();
		const executor = new WorkerPoolExecutor({ maxWorkers: 3, workerIdleTimeout: 1000 });
		try {
			// Each job waits (bounded) until all 3 have started, which needs 3 workers at once.
			const outcomes = await Promise.all(
				[1, 2, 3].map(id => executor.run(job("overlap", { id, log, starts: 3, maxWaitMs: 5000 })))
			);
			expect(outcomes.map(o => o.ok && (o.result as { sawAll: boolean }).sawAll)).toEqual([
				true,
				true,
				true
			]);
			expect(executor.threadCount).toBe(3);
		} finally {
			await executor.close();
		}
	});

	test("close() without any job resolves and creates nothing; run() after it fails", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 2 });
		await executor.close();
		const outcome = await executor.run(job("echo"));
		expect(outcome.ok).toBe(false);
		expect(!outcome.ok && outcome.error.name).toBe("WorkerError");
		expect(!outcome.ok && outcome.error.message).toMatch(/closed/);
		expect(executor.threadCount).toBe(0);
	});

	test("a run() racing close() leaves no pool behind", async () => {
		// close() called in the same tick as run(): run() never creates the pool.
		const first = new WorkerPoolExecutor({ maxWorkers: 1 });
		const running = first.run(job("echo"));
		await first.close();
		expect((await running).ok).toBe(false);
		expect(first.threadCount).toBe(0);

		// close() once the pool exists, with one job holding the only worker and a second one
		// waiting for it: both settle as failures and nothing is left.
		const second = new WorkerPoolExecutor({ maxWorkers: 1 });
		const holding = second.run(job("hang", { id: "held" }));
		const waiting = second.run(job("echo"));
		await waitFor(() => second.threadCount > 0, 5000, "the worker to be created");
		await second.close();
		const outcomes = await Promise.all([holding, waiting]);
		expect(outcomes.map(o => !o.ok && o.error.name)).toEqual(["WorkerError", "WorkerError"]);
		expect(second.threadCount).toBe(0);
	});

	test("a timed-out job's worker is terminated and the next job gets a new one", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, workerIdleTimeout: 1000 });
		try {
			const timedOut = await executor.run(job("hang", { id: "h" }), 100);
			expect(!timedOut.ok && timedOut.error.name).toBe("TimeoutError");
			expect(await executor.run(job("echo"), 5000)).toMatchObject({ ok: true });
		} finally {
			await executor.close();
		}
	});
});

describe("worker pool executor: abort(taskId)", () => {
	test("a job sent alone whose handler ignores its signal ends aborted abortGrace later, its worker terminated; the next job gets a new one", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, abortGrace: 200 });
		const { log } = scratch();
		try {
			const running = executor.run({
				...job("spin", { id: "s", maxSpinMs: 20000, log }),
				taskId: "t1"
			});
			await waitFor(() => existsSync(log), 10000, "the handler to start spinning");
			const asked = Date.now();
			expect(executor.abort("t1", "stop it")).toBe(true);
			const outcome = await running;
			expect(Date.now() - asked).toBeGreaterThanOrEqual(150);
			expect(outcome).toMatchObject({
				ok: false,
				error: { name: "AbortError", message: "stop it" }
			});
			// The spinning worker is gone: the next job runs, in a fresh worker, long before the spin's
			// 20 s bound.
			expect(await executor.run(job("echo"), 5000)).toMatchObject({ ok: true });
			expect(executor.abort("t1", "again")).toBe(false);
			expect(executor.abort("unknown", "none")).toBe(false);
		} finally {
			await executor.close();
		}
	});

	test("a job with a timeout is aborted the same way, before its timeout", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, abortGrace: 100 });
		const { log } = scratch();
		try {
			const running = executor.run(
				{ ...job("spin", { id: "t", maxSpinMs: 20000, log }), taskId: "t2" },
				60000
			);
			await waitFor(() => existsSync(log), 10000, "the handler to start spinning");
			expect(executor.abort("t2", "early")).toBe(true);
			expect(await running).toMatchObject({
				ok: false,
				error: { name: "AbortError", message: "early" }
			});
			expect(await executor.run(job("echo"), 5000)).toMatchObject({ ok: true });
		} finally {
			await executor.close();
		}
	});

	// The abort's message on the channel reaches the worker only on a later turn of its event
	// loop; a handler that never yields (gatedSync) makes the next job of the message start before
	// that turn, every time, so only the mark in shared memory can keep it from starting.
	test.each(["gated", "gatedSync"])(
		"a job aborted while it waits in a message behind another (%s) never calls its handler",
		async method => {
			const files = scratch();
			const executor = new WorkerPoolExecutor({ maxWorkers: 1, abortGrace: 100 });
			// Known to be quick, so the three go in one message and run one after the other.
			measured(executor, method, 0.05);
			try {
				const runs = ["a", "b", "c"].map(id =>
					executor.run({
						...job(method, { id, log: files.log, gate: files.gate }),
						taskId: id
					})
				);
				// "a" holds the worker at the gate; "b" and "c" wait behind it in the message.
				await waitFor(() => readLog(files.log).includes("start a"), 10000, "a started");
				expect(executor.abort("b", "not needed")).toBe(true);
				openGate(files.gate);
				const [a, b, c] = await Promise.all(runs);
				expect(a.ok).toBe(true);
				expect(b === NOT_STARTED || (!b.ok && b.error.name === "AbortError")).toBe(true);
				expect(c.ok).toBe(true);
				expect(readLog(files.log).filter(line => line.startsWith("start "))).toEqual([
					"start a",
					"start c"
				]);
			} finally {
				await executor.close();
			}
		}
	);

	test("a job aborted while it waits for a worker never calls its handler", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, abortGrace: 100 });
		try {
			const first = executor.run({ ...job("hang", { id: "a" }), taskId: "a" });
			const second = executor.run({ ...job("echo"), taskId: "b" });
			expect(executor.abort("b", "not needed")).toBe(true);
			expect(executor.abort("a", "done")).toBe(true);
			// Not started (the abort reached the worker first), or ended by the grace: never a success.
			const stopped = (outcome: AttemptOutcome): boolean =>
				outcome === NOT_STARTED || (!outcome.ok && outcome.error.name === "AbortError");
			expect(stopped(await first)).toBe(true);
			expect(stopped(await second)).toBe(true);
		} finally {
			await executor.close();
		}
	});
});

describe("executors: one clone data object for several jobs", () => {
	// The scheduler hands the jobs of a millisecond one clone data object (handlerJob.ts); a
	// handler that replaces one of its fields must not change the next handler's.
	const executors = [
		["inline", () => new InlineExecutor()],
		["worker pool", () => new WorkerPoolExecutor({ maxWorkers: 1 })]
	] as const;
	test.each(executors)("%s: each handler gets a top-level object of its own", async (_, make) => {
		const executor = make();
		try {
			const cloneData = { config: { debug: false }, state: { componentStates: {} } };
			for (let i = 0; i < 3; i++) {
				const outcome = await executor.run({
					...job("replaceEngineState"),
					engineCloneData: cloneData
				});
				expect(outcome).toMatchObject({ ok: true, result: { before: { componentStates: {} } } });
			}
			expect(cloneData.state).toEqual({ componentStates: {} });
		} finally {
			await executor.close();
		}
	});
});

describe("inline executor: abort(taskId)", () => {
	test("a handler that ignores its signal is abandoned abortGrace later with an aborted outcome; an unknown task is not found", async () => {
		const executor = new InlineExecutor(150);
		try {
			const { log } = scratch();
			const running = executor.run({ ...job("hang", { id: "i", log }), taskId: "i1" });
			await waitFor(() => existsSync(log), 10000, "the handler to start");
			const asked = Date.now();
			expect(executor.abort("i1", "inline stop")).toBe(true);
			expect(await running).toMatchObject({
				ok: false,
				error: { name: "AbortError", message: "inline stop" }
			});
			expect(Date.now() - asked).toBeGreaterThanOrEqual(100);
			expect(executor.abort("i1", "again")).toBe(false);
			expect(executor.abort("unknown", "none")).toBe(false);
			expect(await executor.run(job("echo"))).toMatchObject({ ok: true });
		} finally {
			await executor.close();
		}
	});
});

describe.skipIf(!existsSync("/proc/self/task"))("OS threads of a started connector", () => {
	test("a started connector with handlers and no task holds no worker thread", async () => {
		const counts = await childCounts("main");
		expect(counts.started).toBe(counts.before);
		// The count does see the workers once tasks ran, and their exit after stop().
		expect(counts.ran).toBeGreaterThan(counts.before);
		expect(counts.stopped).toBe(counts.before);
	});

	test("a connector started inside a worker thread opens no nested thread until it runs a task", async () => {
		const counts = await childCounts("nested");
		expect(counts.started).toBe(counts.before);
		expect(counts.ran).toBeGreaterThan(counts.before);
		expect(counts.stopped).toBe(counts.before);
	});
});

describe("worker pool executor: several jobs of a quick handler in one message", () => {
	test(`jobs of a handler whose calls take under ${QUICK_HANDLER_MS} ms go ${MAX_JOBS_PER_MESSAGE} to a message, each answered, in order`, async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, workerIdleTimeout: 5000 });
		try {
			await learnQuick(executor, () => job("echo", { i: -1 }));
			// The second message is taken after the first one's answer is learned: keep the average
			// the executor has now, so a slow call on a loaded host cannot shrink that message.
			vi.spyOn((executor as unknown as IExecutorInternals)._quick, "learn").mockImplementation(
				() => {}
			);
			const messages = watchMessages(executor);
			const indexes = Array.from({ length: 2 * MAX_JOBS_PER_MESSAGE }, (_, i) => i);
			const outcomes = await Promise.all(indexes.map(async i => executor.run(job("echo", { i }))));
			expect(outcomes.map(o => o.ok && (o.result as { payload: { i: number } }).payload.i)).toEqual(
				indexes
			);
			// Started in one turn with one worker: two full messages.
			expect(messages.mock.calls.length).toBe(2);
			expect(messages.mock.calls.every(([message]) => Array.isArray(message.batch))).toBe(true);
		} finally {
			await executor.close();
		}
	});

	test(`a message holds no more than ${MESSAGE_BUDGET_MS} ms of jobs by their handler's average run time`, async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, workerIdleTimeout: 5000 });
		try {
			await learnQuick(executor, () => job("echo", { i: -1 }));
			// The handler's average as if each call took 0.3 ms: three fit in the budget.
			const internals = executor as unknown as IExecutorInternals;
			for (const methods of internals._quick._costs.values()) {
				for (const method of methods.keys()) {
					methods.set(method, 0.3);
				}
			}
			const messages = watchMessages(executor);
			const outcomes = await Promise.all(
				Array.from({ length: 8 }, async (_, i) => executor.run(job("echo", { i })))
			);
			expect(outcomes.every(o => o.ok)).toBe(true);
			expect(messages.mock.calls[0][0].batch?.length).toBe(3);
		} finally {
			await executor.close();
		}
	});

	test("a handler's average in the workers counts its calls, not its module's import", async () => {
		// A module that takes 500 ms to import (a worker thread imports it afresh).
		const slowImport = new URL("./fixtures/slow-import-handlers.mjs", import.meta.url).href;
		const echo = (): IHandlerJob => ({
			module: slowImport,
			method: "echo",
			payload: { a: 1 },
			hasPayload: true
		});
		const executor = new WorkerPoolExecutor({ maxWorkers: 1 });
		try {
			expect(await executor.run(echo())).toEqual({ ok: true, result: { a: 1 } });
			// Learned from the first call alone, without the import's 500 ms. Not asserted as quick
			// (under 1 ms): a first call in a fresh worker on a loaded machine can take longer (seen
			// once in the suite), and the bound here only has to tell the call from the import.
			expect((executor as unknown as IExecutorInternals)._quick.costOf(echo())).toBeLessThan(250);
		} finally {
			await executor.close();
		}
	});

	test("a slow handler's jobs go one to a message, so they run on every worker at once", async () => {
		const { log } = scratch();
		const executor = new WorkerPoolExecutor({ maxWorkers: 2, workerIdleTimeout: 5000 });
		const sleep = (): IHandlerJob => ({
			module: SLEEP_HANDLER,
			method: "sleepFor",
			payload: { ms: 5 },
			hasPayload: true
		});
		try {
			for (let i = 0; i < 5; i++) {
				expect((await executor.run(sleep())).ok).toBe(true);
			}
			expect((executor as unknown as IExecutorInternals)._quick.isQuick(sleep())).toBe(false);
			const messages = watchMessages(executor);
			const outcomes = await Promise.all([
				executor.run(sleep()),
				executor.run(sleep()),
				...[1, 2].map(async id =>
					executor.run(job("overlap", { id, log, starts: 2, maxWaitMs: 5000 }))
				)
			]);
			expect(outcomes.every(o => o.ok)).toBe(true);
			// The two overlap jobs ran at once (each saw the other start): never queued in one worker.
			expect(outcomes.slice(2).map(o => o.ok && (o.result as { sawAll: boolean }).sawAll)).toEqual([
				true,
				true
			]);
			expect(messages.mock.calls.some(([message]) => "batch" in message)).toBe(false);
		} finally {
			await executor.close();
		}
	});

	test("a worker that dies in a message fails the job that was running; the jobs it had not started run again elsewhere", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 1, workerIdleTimeout: 5000 });
		try {
			await learnQuick(executor, () => job("exitOn", { id: "learn" }));
			const messages = watchMessages(executor);
			const outcomes = await Promise.all([
				executor.run(job("exitOn", { id: "dies", exit: true })),
				...["a", "b", "c"].map(async id => executor.run(job("exitOn", { id })))
			]);
			expect(!outcomes[0].ok && outcomes[0].error.name).toBe("WorkerError");
			expect(outcomes.slice(1)).toEqual(["a", "b", "c"].map(id => ({ ok: true, result: { id } })));
			// One message of four, then the three that never started, each alone.
			expect(messages.mock.calls.map(([message]) => message.batch?.length ?? 1)).toEqual([
				4, 1, 1, 1
			]);
		} finally {
			await executor.close();
		}
	});

	test("abortAll() ends quick jobs still waiting for a worker as not started; close() fails them", async () => {
		for (const end of ["abortAll", "close"] as const) {
			const executor = new WorkerPoolExecutor({ maxWorkers: 1, workerIdleTimeout: 5000 });
			try {
				await learnQuick(executor, () => job("echo"));
				// The only worker is held; the quick jobs wait for it.
				const holding = executor.run(job("hang", { id: "held" }));
				await waitFor(() => executor.threadCount > 0, 5000, "the worker");
				const waiting = [executor.run(job("echo")), executor.run(job("echo"))];
				if (end === "abortAll") {
					expect(executor.abortAll()).toBe(3);
					expect(await Promise.all(waiting)).toEqual([NOT_STARTED, NOT_STARTED]);
				} else {
					await executor.close();
					const outcomes = await Promise.all(waiting);
					expect(outcomes.map(o => !o.ok && o.error.message)).toEqual([
						expect.stringMatching(/closed/),
						expect.stringMatching(/closed/)
					]);
				}
				await executor.close();
				expect((await holding).ok).toBe(false);
			} finally {
				await executor.close();
			}
		}
	});
});

describe("worker pool executor: slotDepth", () => {
	test("QUICK_SLOT_DEPTH for a quick handler without a timeout, whatever its concurrency, else 1", async () => {
		const executor = new WorkerPoolExecutor({ maxWorkers: 2 });
		const quick = { module: HANDLERS, method: "echo" };
		// Not measured yet: not quick.
		expect(executor.slotDepth({ ...quick, concurrency: 8 }, "t")).toBe(1);
		measured(executor, "echo", 0.05);
		expect(executor.slotDepth({ ...quick, concurrency: 8 }, "t")).toBe(QUICK_SLOT_DEPTH);
		expect(executor.slotDepth({ ...quick, concurrency: 2 }, "t")).toBe(QUICK_SLOT_DEPTH);
		expect(executor.slotDepth({ ...quick, concurrency: 1 }, "t")).toBe(QUICK_SLOT_DEPTH);
		expect(executor.slotDepth({ ...quick, concurrency: 8, timeout: 1000 }, "t")).toBe(1);
		measured(executor, "slow", 5);
		expect(executor.slotDepth({ module: HANDLERS, method: "slow", concurrency: 8 }, "t")).toBe(1);

		// More workers than the type's concurrency: its messages in workers are limited to it.
		const wide = new WorkerPoolExecutor({ maxWorkers: 4 });
		measured(wide, "echo", 0.05);
		expect(wide.slotDepth({ ...quick, concurrency: 2 }, "t")).toBe(QUICK_SLOT_DEPTH);

		// Once aborted (stop()), nothing more waits in messages.
		executor.abortAll();
		expect(executor.slotDepth({ ...quick, concurrency: 8 }, "t")).toBe(1);
		await executor.close();
		await wide.close();
	});

	test("in-process routing: 1 for a function of this process, the inner executor's otherwise", async () => {
		const inner = new WorkerPoolExecutor({ maxWorkers: 2 });
		measured(inner, "echo", 0.05);
		const routing = new InProcessRouting(inner);
		const specifier = registerInProcessHandler(async () => undefined);
		try {
			expect(routing.slotDepth({ module: specifier, method: "run", concurrency: 8 }, "t")).toBe(1);
			expect(routing.slotDepth({ module: HANDLERS, method: "echo", concurrency: 8 }, "t")).toBe(
				QUICK_SLOT_DEPTH
			);
			expect(
				new InProcessRouting(new InlineExecutor()).slotDepth(
					{ ...job("echo"), concurrency: 8 },
					"t"
				)
			).toBe(1);
		} finally {
			unregisterInProcessHandler(specifier);
			await routing.close();
		}
	});
});
