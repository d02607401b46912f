// Unit tests of TaskRunner's contract with the slot that starts a run: the slot hears when the
// handler returns and when the run ends (with the task to queue again), idle() waits for every
// run's record, and a fault in a run or in its slot is logged without leaving the runner busy.
// A source and an executor of our own, so each step is held and released by the test.
import type { ILogEntry } from "@twin.org/logging-models";
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { IClaimPolicy } from "../src/contracts/IClaimPolicy.js";
import type { IHandlerJob, ITaskExecutor } from "../src/contracts/ITaskExecutor.js";
import type { ISettleDone, ITaskSource, QueuedTask } from "../src/contracts/ITaskSource.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../src/contracts/schedulerModels.js";
import type { BackgroundTask } from "../src/domain/backgroundTask.js";
import type { AttemptOutcome } from "../src/domain/rules.js";
import type { IRunSlot } from "../src/scheduling/IRunSlot.js";
import { TaskRunner } from "../src/scheduling/taskRunner.js";
import { Timers } from "../src/scheduling/timers.js";
import { waitFor } from "./helpers/harness.js";
import { taskEntity } from "./helpers/tasks.js";
import { TaskLog } from "../src/utils/taskLog.js";

const HANDLER: IRegisteredHandler = { module: "m", method: "f", concurrency: 1, serial: false };

const SETTINGS = {
	namespace: "test",
	threadId: "t",
	engineName: "engine",
	taskInterval: 0,
	retryInterval: 10,
	retryMaxInterval: 1000,
	pollInterval: 1000,
	cleanupInterval: 60_000,
	shutdownTimeout: 1000,
	abortGrace: 100,
	trackTaskContext: false,
	globalLimit: 8,
	batchSize: 8
} as ISchedulerSettings;

/**
 * A promise with its resolve and reject.
 * @returns The promise and its controls.
 */
function deferred<T>(): {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (err: unknown) => void;
} {
	let resolve!: (value: T) => void;
	let reject!: (err: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

/**
 * A claimed task.
 * @param id The id.
 * @param retriesRemaining Retries left after this attempt.
 * @returns The task.
 */
function claimedTask(id: string, retriesRemaining = 0): BackgroundTask {
	return taskEntity({
		id,
		type: "job",
		status: TaskStatus.Processing,
		retryInterval: 10,
		retriesRemaining
	});
}

/**
 * A runner over a source that holds the given tasks claimed and writes each settle when the
 * test says, and an executor whose outcomes the test gives.
 * @param tasks The tasks held claimed, by id.
 * @param claimHeld What claimHeld does (the tasks' lookup unless given).
 * @returns The runner, the settles waiting, the handlers' outcomes to give, the log entries.
 */
function setUp(
	tasks: BackgroundTask[],
	claimHeld?: (id: string) => BackgroundTask | undefined
): {
	runner: TaskRunner;
	settles: { task: BackgroundTask; written: ReturnType<typeof deferred<boolean>> }[];
	outcomes: Map<string, ReturnType<typeof deferred<AttemptOutcome>>>;
	logged: ILogEntry[];
} {
	const byId = new Map(tasks.map(t => [t.id, t]));
	const settles: { task: BackgroundTask; written: ReturnType<typeof deferred<boolean>> }[] = [];
	const outcomes = new Map(tasks.map(t => [t.id, deferred<AttemptOutcome>()]));
	const logged: ILogEntry[] = [];
	const source = {
		claimPolicy: { sharesRateLimit: false } as IClaimPolicy,
		claimHeld: claimHeld ?? ((id: string) => byId.get(id)),
		settle: async (task: BackgroundTask) => {
			const written = deferred<boolean>();
			settles.push({ task, written });
			return written.promise;
		},
		release: () => {}
	} as unknown as ITaskSource;
	const executor: ITaskExecutor = {
		setProgressListener: () => {},
		run: async (job: IHandlerJob) =>
			(outcomes.get(job.taskId as string) as ReturnType<typeof deferred<AttemptOutcome>>).promise,
		abortAll: () => 0,
		abort: () => false,
		close: async () => {}
	};
	const log = new TaskLog("test", {
		log: async (entry: ILogEntry) => {
			logged.push(entry);
		}
	});
	return {
		runner: new TaskRunner(source, executor, SETTINGS, log, new Timers()),
		settles,
		outcomes,
		logged
	};
}

/**
 * A slot that records what it hears.
 * @param ended What ended() does besides recording (throw, say).
 * @returns The slot and its record.
 */
function recordingSlot(ended?: () => void): {
	slot: IRunSlot;
	heard: string[];
	requeued: (QueuedTask | undefined)[];
} {
	const heard: string[] = [];
	const requeued: (QueuedTask | undefined)[] = [];
	return {
		heard,
		requeued,
		slot: {
			handlerDone: () => heard.push("handlerDone"),
			ended: requeue => {
				heard.push("ended");
				requeued.push(requeue);
				ended?.();
			}
		}
	};
}

/**
 * Whether a promise has settled by the next turn.
 * @param promise The promise.
 * @returns True when it has.
 */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
	let done = false;
	void promise.then(
		() => (done = true),
		() => (done = true)
	);
	await new Promise(resolve => setImmediate(resolve));
	return done;
}

describe("TaskRunner and its runs' slots", () => {
	test("the slot hears of the handler's return, then of the run's end once the record is written; idle() waits for it", async () => {
		const { runner, settles, outcomes } = setUp([claimedTask("a")]);
		const { slot, heard, requeued } = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, slot);
		const idle = runner.idle();
		outcomes.get("a")?.resolve({ ok: true, result: 1 });
		await waitFor(() => settles.length === 1);
		expect(heard).toEqual(["handlerDone"]);
		expect(settles[0].task.status).toBe(TaskStatus.Success);
		expect(await settledYet(idle)).toBe(false);
		settles[0].written.resolve(true);
		await idle;
		expect(heard).toEqual(["handlerDone", "ended"]);
		expect(requeued).toEqual([undefined]);
	});

	test("a failed attempt with retries left is handed to the slot to queue again, pending", async () => {
		const { runner, settles, outcomes } = setUp([claimedTask("a", 2)]);
		const { slot, requeued } = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, slot);
		outcomes.get("a")?.resolve({ ok: false, error: { name: "Error", message: "boom" } });
		await waitFor(() => settles.length === 1);
		settles[0].written.resolve(true);
		await runner.idle();
		expect(requeued).toHaveLength(1);
		expect(requeued[0]?.id).toBe("a");
		expect(requeued[0]?.status).toBe(TaskStatus.Pending);
	});

	test("idle() waits for every run, and resolves at once when none is in progress", async () => {
		const { runner, settles, outcomes } = setUp([claimedTask("a"), claimedTask("b")]);
		expect(await settledYet(runner.idle())).toBe(true);
		const a = recordingSlot();
		const b = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, a.slot);
		runner.run("job", HANDLER, "b", () => true, b.slot);
		const idle = runner.idle();
		outcomes.get("a")?.resolve({ ok: true });
		outcomes.get("b")?.resolve({ ok: true });
		await waitFor(() => settles.length === 2);
		settles[0].written.resolve(true);
		await waitFor(() => a.heard.includes("ended") || b.heard.includes("ended"));
		expect(await settledYet(idle)).toBe(false);
		settles[1].written.resolve(true);
		await idle;
		expect([a.heard, b.heard]).toEqual([
			["handlerDone", "ended"],
			["handlerDone", "ended"]
		]);
	});

	test("a run whose claim throws ends its slot with nothing to queue again, logged as unexpectedError", async () => {
		const { runner, logged } = setUp([], () => {
			throw new Error("claim broke");
		});
		const { slot, heard, requeued } = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, slot);
		await runner.idle();
		expect(heard).toEqual(["ended"]);
		expect(requeued).toEqual([undefined]);
		const entry = logged.find(e => e.message === "unexpectedError");
		expect(entry?.data).toEqual({ id: "a" });
		expect(entry?.error?.message).toBe("claim broke");
	});

	test("a slot whose ended() throws is logged, and the runner still goes idle", async () => {
		const { runner, settles, outcomes, logged } = setUp([claimedTask("a")]);
		const { slot, heard } = recordingSlot(() => {
			throw new Error("slot broke");
		});
		runner.run("job", HANDLER, "a", () => true, slot);
		outcomes.get("a")?.resolve({ ok: true });
		await waitFor(() => settles.length === 1);
		settles[0].written.resolve(true);
		await runner.idle();
		expect(heard).toEqual(["handlerDone", "ended"]);
		expect(logged.filter(e => e.message === "unexpectedError").map(e => e.error?.message)).toEqual([
			"slot broke"
		]);
	});

	test("over a source with settleThen, the first write goes there and the run ends when the source tells its outcome", async () => {
		const { runner, source, outcomes, firsts, repeats } = setUpSettleThen([claimedTask("a")]);
		const { slot, heard } = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, slot);
		const idle = runner.idle();
		outcomes.get("a")?.resolve({ ok: true, result: 1 });
		await waitFor(() => firsts.length === 1);
		expect(firsts[0].task.status).toBe(TaskStatus.Success);
		expect(firsts[0].remove).toBe(true);
		expect(heard).toEqual(["handlerDone"]);
		expect(await settledYet(idle)).toBe(false);
		firsts[0].done.settled(true);
		await idle;
		expect(heard).toEqual(["handlerDone", "ended"]);
		expect(repeats).toHaveLength(0);
		expect(source.settleCalls).toBe(0);
	});

	test("a first write that fails, or a settleThen that throws, is repeated through settle() with the claim's dateModified", async () => {
		const a = claimedTask("a");
		const b = claimedTask("b");
		const { runner, outcomes, firsts, repeats, logged } = setUpSettleThen([a, b], id => {
			if (id === "b") {
				throw new Error("source broke");
			}
		});
		const slotA = recordingSlot();
		const slotB = recordingSlot();
		runner.run("job", HANDLER, "a", () => true, slotA.slot);
		runner.run("job", HANDLER, "b", () => true, slotB.slot);
		outcomes.get("a")?.resolve({ ok: true });
		outcomes.get("b")?.resolve({ ok: true });
		await waitFor(() => firsts.length === 2);
		firsts.find(f => f.task.id === "a")?.done.failed(new Error("connection lost"));
		// The repeat waits the first backoff (StorageRetries), then asks settle() with the fence.
		await waitFor(() => repeats.length === 2);
		expect(repeats.map(r => [r.task.id, r.claimedAt]).sort()).toEqual([
			["a", a.dateModified],
			["b", b.dateModified]
		]);
		for (const repeat of repeats) {
			repeat.written.resolve(true);
		}
		await runner.idle();
		expect([slotA.heard, slotB.heard]).toEqual([
			["handlerDone", "ended"],
			["handlerDone", "ended"]
		]);
		expect(
			logged
				.filter(e => e.message === "settleFailed")
				.map(e => [e.data?.id, e.error?.message])
				.sort()
		).toEqual([
			["a", "connection lost"],
			["b", "source broke"]
		]);
	});
});

/**
 * A runner over a source with settleThen: each first write is held for the test to tell its
 * outcome; a repeat (settle() with claimedAt) waits for the test too.
 * @param tasks The tasks held claimed.
 * @param onFirst Runs at each first write, with the task id (to throw, say).
 * @returns The runner, the source, the first writes and repeats so far, the handlers' outcomes,
 * the log entries.
 */
function setUpSettleThen(
	tasks: BackgroundTask[],
	onFirst?: (id: string) => void
): {
	runner: TaskRunner;
	source: { settleCalls: number };
	firsts: { task: BackgroundTask; remove: boolean; done: ISettleDone }[];
	repeats: {
		task: BackgroundTask;
		claimedAt: string | undefined;
		written: ReturnType<typeof deferred<boolean>>;
	}[];
	outcomes: Map<string, ReturnType<typeof deferred<AttemptOutcome>>>;
	logged: ILogEntry[];
} {
	const base = setUp(tasks);
	const byId = new Map(tasks.map(t => [t.id, t]));
	const firsts: { task: BackgroundTask; remove: boolean; done: ISettleDone }[] = [];
	const repeats: {
		task: BackgroundTask;
		claimedAt: string | undefined;
		written: ReturnType<typeof deferred<boolean>>;
	}[] = [];
	const counts = { settleCalls: 0 };
	const source = {
		claimPolicy: { sharesRateLimit: false } as IClaimPolicy,
		claimHeld: (id: string) => byId.get(id),
		settle: async (task: BackgroundTask, _remove: boolean, claimedAt?: string) => {
			counts.settleCalls++;
			const written = deferred<boolean>();
			repeats.push({ task, claimedAt, written });
			return written.promise;
		},
		settleThen: (task: BackgroundTask, remove: boolean, done: ISettleDone) => {
			firsts.push({ task, remove, done });
			onFirst?.(task.id);
		},
		release: () => {}
	} as unknown as ITaskSource;
	const executor: ITaskExecutor = {
		setProgressListener: () => {},
		run: async (job: IHandlerJob) =>
			(base.outcomes.get(job.taskId as string) as ReturnType<typeof deferred<AttemptOutcome>>)
				.promise,
		abortAll: () => 0,
		abort: () => false,
		close: async () => {}
	};
	const log = new TaskLog("test", {
		log: async (entry: ILogEntry) => {
			base.logged.push(entry);
		}
	});
	return {
		runner: new TaskRunner(source, executor, SETTINGS, log, new Timers()),
		source: counts,
		firsts,
		repeats,
		outcomes: base.outcomes,
		logged: base.logged
	};
}

describe("TaskRunner.slotDepth", () => {
	/**
	 * A runner whose executor answers slotDepth with a fixed depth, or has no slotDepth.
	 * @param depth The executor's answer, or undefined for none.
	 * @returns The runner.
	 */
	function runnerWith(depth: number | undefined): TaskRunner {
		const executor: ITaskExecutor = {
			setProgressListener: () => {},
			run: async () => ({ ok: true }) as AttemptOutcome,
			abortAll: () => 0,
			abort: () => false,
			close: async () => {},
			...(depth === undefined ? {} : { slotDepth: () => depth })
		};
		const log = new TaskLog("test", { log: async () => {} });
		return new TaskRunner({} as ITaskSource, executor, SETTINGS, log, new Timers());
	}

	test("is the executor's answer for a plain type, and 1 when the executor has none", () => {
		const wide = { ...HANDLER, concurrency: 8 };
		expect(runnerWith(8).slotDepth(wide, "t")).toBe(8);
		expect(runnerWith(undefined).slotDepth(wide, "t")).toBe(1);
		expect(runnerWith(0).slotDepth(wide, "t")).toBe(1);
	});

	test("is 1 for a serial or rate-limited type whatever the executor says", () => {
		const runner = runnerWith(8);
		expect(runner.slotDepth({ ...HANDLER, concurrency: 8, serial: true }, "t")).toBe(1);
		expect(
			runner.slotDepth({ ...HANDLER, concurrency: 8, rateLimit: { max: 10, per: 1000 } }, "t")
		).toBe(1);
	});
});
