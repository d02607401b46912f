// Scheduling through the public API, in both execution modes: retries, order, concurrency,
// taskInterval, state-change callbacks, retry(), cancel() and remove() races, and handlers
// registered or unregistered around the tasks. Overlap and order are observed through the log the
// handler fixtures write, never through timing.
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/index.js";
import { createConnector, waitFor, waitForStatus } from "./helpers/harness.js";
import { storageIdOf, stored as storedTask } from "./helpers/tasks.js";
import {
	HANDLERS,
	MODES,
	maxRunning,
	openGate,
	readLog,
	scratch,
	starts,
	statusRecorder,
	waitForStarts
} from "./fixtures/support.js";

describe.each(MODES)("scheduling in %s mode", executionMode => {
	test("a failing task is retried after its retryInterval, then succeeds", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		const { seen, tasks, callback } = statusRecorder();
		await connector.registerHandler("flaky", HANDLERS, "failFirst", callback);
		await start();
		const id = await connector.create(
			"flaky",
			{ id: "f", counter: files.counter("f"), failTimes: 2 },
			{ retainFor: -1, retryCount: 3, retryInterval: 150 }
		);
		const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
		expect(task.status).toBe(TaskStatus.Success);
		expect(task.result).toEqual({ attempt: 3 });
		expect(task.error).toBeUndefined();
		expect(task.retriesRemaining).toBeUndefined();
		expect(seen.get(storageIdOf(id))).toEqual([
			TaskStatus.Processing,
			TaskStatus.Pending,
			TaskStatus.Processing,
			TaskStatus.Pending,
			TaskStatus.Processing,
			TaskStatus.Success
		]);
		const history = tasks.get(storageIdOf(id)) ?? [];
		expect(history[1]).toMatchObject({
			retriesRemaining: 2,
			error: { name: "FirstAttemptsError" }
		});
		expect(history[3]).toMatchObject({ retriesRemaining: 1 });
		// Each retry was claimed no earlier than retryInterval after the failure was recorded.
		for (const failedAt of [1, 3]) {
			const gap =
				Date.parse(history[failedAt + 1].dateModified) - Date.parse(history[failedAt].dateModified);
			expect(gap).toBeGreaterThanOrEqual(150);
		}
	});

	test("with concurrency 1 tasks start in order, one at a time", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("ordered", HANDLERS, "logged");
		await start();
		const ids: string[] = [];
		for (let i = 0; i < 8; i++) {
			ids.push(
				await connector.create("ordered", { id: `t${i}`, log: files.log }, { retainFor: -1 })
			);
		}
		await waitForStatus(connector, ids[7], [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(ids.map((_, i) => `t${i}`));
		expect(maxRunning(files.log)).toBe(1);
	});

	test("a task waiting for a retry lets later tasks go first; retry() runs it promptly", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, pollInterval: 60000 });
		await connector.registerHandler("ordered", HANDLERS, "failFirst");
		await start();
		const common = { log: files.log, failTimes: 1 };
		const a = await connector.create(
			"ordered",
			{ ...common, id: "a", counter: files.counter("a") },
			{ retainFor: -1, retryCount: 1, retryInterval: 60000 }
		);
		const later: string[] = [];
		for (const name of ["b", "c", "d"]) {
			// failTimes 0: these succeed at once.
			later.push(
				await connector.create(
					"ordered",
					{ ...common, id: name, counter: files.counter(name), failTimes: 0 },
					{ retainFor: -1 }
				)
			);
		}
		for (const id of later) {
			await waitForStatus(connector, id, [TaskStatus.Success]);
		}
		const waiting = await connector.get(a);
		expect(waiting).toMatchObject({ status: TaskStatus.Pending, retriesRemaining: 0 });
		expect(waiting?.error?.message).toBe("attempt 1 failed");
		expect(starts(files.log)).toEqual(["a", "b", "c", "d"]);

		// The retry is due in a minute; retry() makes it due now and wakes the scheduler.
		await connector.retry(a);
		const done = await waitForStatus(connector, a, [TaskStatus.Success, TaskStatus.Failed], 10000);
		expect(done.status).toBe(TaskStatus.Success);
		expect(done.result).toEqual({ attempt: 2 });
		expect(starts(files.log)).toEqual(["a", "b", "c", "d", "a"]);
	});

	test("retry() gives a failed task one more attempt; other statuses are left alone", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, pollInterval: 60000 });
		await connector.registerHandler("flaky", HANDLERS, "failFirst");
		await start();
		const id = await connector.create(
			"flaky",
			{ id: "f", counter: files.counter("f"), failTimes: 1 },
			{ retainFor: -1 }
		);
		const failed = await waitForStatus(connector, id, [TaskStatus.Failed, TaskStatus.Success]);
		expect(failed.status).toBe(TaskStatus.Failed);
		await connector.retry(id);
		const done = await waitForStatus(connector, id, [TaskStatus.Success]);
		expect(done.result).toEqual({ attempt: 2 });
		expect(done.dateCompleted).toBeDefined();
		await connector.retry(id);
		expect((await connector.get(id))?.status).toBe(TaskStatus.Success);
		expect(readLog(files.counter("f"))).toHaveLength(2);
	});

	test("concurrency N runs N handlers of one type at once, never more", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode, maxWorkers: 3, concurrency: 2 });
		await connector.registerHandler("wide", HANDLERS, "overlap", undefined, { concurrency: 3 });
		await connector.registerHandler("pairs", HANDLERS, "overlap");
		await start();
		// Each of these returns only once three starts are in the log: they must overlap.
		const wide: string[] = [];
		for (let i = 0; i < 3; i++) {
			wide.push(
				await connector.create(
					"wide",
					{ id: `w${i}`, log: files.log, starts: 3 },
					{ retainFor: -1 }
				)
			);
		}
		for (const id of wide) {
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toMatchObject({
				sawAll: true
			});
		}
		expect(maxRunning(files.log)).toBe(3);

		// config.concurrency 2: task k waits for 2 * ceil(k / 2) starts, so pairs overlap.
		const pairsLog = scratch().log;
		const pairs: string[] = [];
		for (let i = 0; i < 6; i++) {
			const payload = { id: `p${i}`, log: pairsLog, starts: 2 * Math.ceil((i + 1) / 2) };
			pairs.push(await connector.create("pairs", payload, { retainFor: -1 }));
		}
		for (const id of pairs) {
			expect((await waitForStatus(connector, id, [TaskStatus.Success])).result).toMatchObject({
				sawAll: true
			});
		}
		expect(maxRunning(pairsLog)).toBe(2);
	});

	test("taskInterval is the minimum gap between two starts of a type", async () => {
		const interval = 300;
		const { connector, start } = createConnector({ executionMode, taskInterval: interval });
		const { tasks, callback } = statusRecorder();
		await connector.registerHandler("spaced", HANDLERS, "echo", callback, { concurrency: 4 });
		await start();
		const ids: string[] = [];
		for (let i = 0; i < 4; i++) {
			ids.push(await connector.create("spaced", { i }, { retainFor: -1 }));
		}
		for (const id of ids) {
			await waitForStatus(connector, id, [TaskStatus.Success]);
		}
		const claimedAt = ids.map(id => Date.parse(tasks.get(storageIdOf(id))?.[0].dateModified ?? ""));
		for (let i = 1; i < claimedAt.length; i++) {
			// A lower bound only: load can widen the gap, never shrink it. The tolerance covers the
			// time between the scheduler's decision and the claim's timestamp (without taskInterval
			// the gap is a few ms).
			expect(claimedAt[i] - claimedAt[i - 1]).toBeGreaterThanOrEqual(interval - 100);
		}
	});

	test("the state-change callback is awaited on claim before the handler runs", async () => {
		const files = scratch();
		let release: () => void = () => {};
		const released = new Promise<void>(resolve => (release = resolve));
		const { connector, start } = createConnector({ executionMode });
		const { seen, callback } = statusRecorder(async task => {
			if (task.status === TaskStatus.Processing) {
				await released;
			}
		});
		await connector.registerHandler("held", HANDLERS, "logged", callback);
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const id = await connector.create("held", { id: "h", log: files.log }, { retainFor: -1 });
		await waitFor(() => seen.get(storageIdOf(id))?.length === 1, 10000, "the processing callback");
		// Another type still runs meanwhile; the held task's handler has not started.
		const other = await connector.create("echo", { x: 1 }, { retainFor: -1 });
		await waitForStatus(connector, other, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual([]);
		release();
		await waitForStatus(connector, id, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["h"]);
		await waitFor(() => seen.get(storageIdOf(id))?.length === 2, 10000, "the final callback");
		expect(seen.get(storageIdOf(id))).toEqual([TaskStatus.Processing, TaskStatus.Success]);
	});

	test("the state-change callback receives the stored task as stored at that moment, a copy with the plain id", async () => {
		const files = scratch();
		const { connector, start, storage } = createConnector({ executionMode });
		const received: { task: IBackgroundTask; stored: unknown }[] = [];
		await connector.registerHandler("flaky", HANDLERS, "failFirst", async task => {
			received.push({ task: structuredClone(task), stored: await storedTask(storage, task.id) });
			// A callback changing what it is given cannot change storage.
			(task as { status: string }).status = "changed by the callback";
		});
		await start();
		const id = await connector.create(
			"flaky",
			{ id: "f", counter: files.counter("f"), failTimes: 1 },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		await waitFor(() => received.length === 4, 10000, "four callbacks");
		expect(received.map(r => r.task.status)).toEqual([
			TaskStatus.Processing,
			TaskStatus.Pending,
			TaskStatus.Processing,
			TaskStatus.Success
		]);
		for (const { task, stored: atThatMoment } of received) {
			expect(task.id).toBe(storageIdOf(id));
			expect(task).toEqual(atThatMoment);
		}
		// The stored entity's fields, not the mapped model: dateNextProcess while processing,
		// retainFor until the task is final, then retainUntil instead.
		const [claimed, waiting, , done] = received.map(r => r.task as unknown as BackgroundTask);
		expect(claimed).toMatchObject({ retainFor: -1, retriesRemaining: 1 });
		expect(claimed.dateNextProcess).toBeDefined();
		expect(waiting).toMatchObject({ retainFor: -1, retriesRemaining: 0 });
		expect(waiting.dateNextProcess).toBeDefined();
		expect(done).toMatchObject({ retainUntil: -1, result: { attempt: 2 } });
		expect(done.retainFor).toBeUndefined();
		expect(done.dateNextProcess).toBeUndefined();
		expect("dateRetainUntil" in done).toBe(false);
		expect((await connector.get(id))?.status).toBe(TaskStatus.Success);
	});

	test("a state-change callback that throws does not stop processing or corrupt state", async () => {
		const { connector, start } = createConnector({ executionMode });
		const { seen, callback } = statusRecorder(() => {
			throw new Error("callback failed");
		});
		await connector.registerHandler("echo", HANDLERS, "echo", callback);
		await connector.registerHandler("fail", HANDLERS, "fail", callback);
		await start();
		const ids: string[] = [];
		for (let i = 0; i < 4; i++) {
			ids.push(await connector.create("echo", { i }, { retainFor: -1 }));
		}
		const failing = await connector.create(
			"fail",
			{ message: "x" },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		for (const [i, id] of ids.entries()) {
			const task = await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Failed]);
			expect(task).toMatchObject({ status: TaskStatus.Success, result: { payload: { i } } });
		}
		expect((await waitForStatus(connector, failing, [TaskStatus.Failed])).retriesRemaining).toBe(0);
		await waitFor(
			() =>
				seen.get(storageIdOf(ids[3]))?.length === 2 && seen.get(storageIdOf(failing))?.length === 4
		);
		expect(seen.get(storageIdOf(ids[0]))).toEqual([TaskStatus.Processing, TaskStatus.Success]);
		expect(seen.get(storageIdOf(failing))).toEqual([
			TaskStatus.Processing,
			TaskStatus.Pending,
			TaskStatus.Processing,
			TaskStatus.Failed
		]);
	});

	test("cancel() of a pending task prevents its run; cancel of a running task does nothing", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const gate = { log: files.log, gate: files.gate };
		const running = await connector.create("gated", { ...gate, id: "r" }, { retainFor: -1 });
		const kept = await connector.create("gated", { ...gate, id: "k" }, { retainFor: -1 });
		const dropped = await connector.create("gated", { ...gate, id: "d" }, { retainFor: 0 });
		await waitForStarts(files.log, 1);
		await connector.cancel(running);
		await connector.cancel(kept);
		await connector.cancel(dropped);
		expect((await connector.get(running))?.status).toBe(TaskStatus.Processing);
		const cancelled = await connector.get(kept);
		expect(cancelled).toMatchObject({ status: TaskStatus.Cancelled });
		expect(cancelled?.dateCancelled).toBeDefined();
		expect(await connector.get(dropped)).toBeUndefined();
		openGate(files.gate);
		await waitForStatus(connector, running, [TaskStatus.Success]);
		const after = await connector.create("gated", { ...gate, id: "a" }, { retainFor: -1 });
		await waitForStatus(connector, after, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["r", "a"]);
		expect((await connector.get(kept))?.status).toBe(TaskStatus.Cancelled);
	});

	test("cancel() racing a claim: a task either runs or is cancelled, never both", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("race", HANDLERS, "logged", undefined, { concurrency: 4 });
		await start();
		const ids: string[] = [];
		for (let i = 0; i < 20; i++) {
			const id = await connector.create("race", { id: `t${i}`, log: files.log }, { retainFor: -1 });
			ids.push(id);
			await connector.cancel(id);
		}
		const final: IBackgroundTask[] = [];
		for (const id of ids) {
			final.push(await waitForStatus(connector, id, [TaskStatus.Success, TaskStatus.Cancelled]));
		}
		const ran = new Set(starts(files.log));
		for (const [i, task] of final.entries()) {
			expect(ran.has(`t${i}`)).toBe(task.status === TaskStatus.Success);
		}
		expect(starts(files.log)).toHaveLength(ran.size);
	});

	test("remove() of a running task: it is not written back when it finishes", async () => {
		const files = scratch();
		const { connector, start, storage } = createConnector({ executionMode });
		const reported: string[] = [];
		await connector.registerHandler("gated", HANDLERS, "gated", async task => {
			reported.push(`${(task.payload as { id: string }).id}:${task.status}`);
		});
		await start();
		const gate = { log: files.log, gate: files.gate };
		const ok = await connector.create("gated", { ...gate, id: "ok" }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		await connector.remove(ok);
		expect(await connector.get(ok)).toBeUndefined();
		openGate(files.gate);
		// Concurrency 1: once a later task succeeds, the removed one has finished and settled.
		const next = await connector.create("gated", { ...gate, id: "n" }, { retainFor: -1 });
		await waitForStatus(connector, next, [TaskStatus.Success]);
		expect(await connector.get(ok)).toBeUndefined();
		const stored = await storage.query();
		expect(stored.entities.map(e => e.id)).toEqual([next.split(":").at(-1)]);
		// The removed task's outcome is still reported (its handler ran), though it is not stored.
		expect(reported).toEqual(["ok:processing", "ok:success", "n:processing", "n:success"]);
	});

	test("remove() of a running task that fails with retries left: no retry, no write", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const gate = { log: files.log, gate: files.gate };
		const doomed = await connector.create(
			"gated",
			{ ...gate, id: "x", fail: true },
			{ retainFor: -1, retryCount: 3, retryInterval: 1 }
		);
		await waitForStarts(files.log, 1);
		await connector.remove(doomed);
		openGate(files.gate);
		// Two later tasks in a row: the second is due after any retry of the removed one would be.
		for (const name of ["n1", "n2"]) {
			const id = await connector.create("gated", { ...gate, id: name }, { retainFor: -1 });
			await waitForStatus(connector, id, [TaskStatus.Success]);
		}
		expect(await connector.get(doomed)).toBeUndefined();
		expect(starts(files.log)).toEqual(["x", "n1", "n2"]);
	});

	test("tasks created before their handler is registered run once it is", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		const early = await connector.create("late", { id: "e", log: files.log }, { retainFor: -1 });
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const created: string[] = [];
		for (let i = 0; i < 3; i++) {
			created.push(
				await connector.create("late", { id: `c${i}`, log: files.log }, { retainFor: -1 })
			);
		}
		// Another type runs meanwhile; the tasks without a handler stay pending.
		const other = await connector.create("echo", {}, { retainFor: -1 });
		await waitForStatus(connector, other, [TaskStatus.Success]);
		for (const id of [early, ...created]) {
			expect((await connector.get(id))?.status).toBe(TaskStatus.Pending);
		}
		await connector.registerHandler("late", HANDLERS, "logged");
		for (const id of [early, ...created]) {
			await waitForStatus(connector, id, [TaskStatus.Success]);
		}
		expect(starts(files.log).sort()).toEqual(["c0", "c1", "c2", "e"]);
	});

	test("registering a type again while its task runs: no second start, and its retry is queued", async () => {
		const files = scratch();
		const { connector, start } = createConnector({
			executionMode,
			maxWorkers: 3,
			pollInterval: 60000
		});
		await connector.registerHandler("gated", HANDLERS, "gated");
		await start();
		const running = await connector.create(
			"gated",
			{ id: "r", log: files.log, gate: files.gate, fail: true },
			{ retainFor: -1, retryCount: 1, retryInterval: 1 }
		);
		await waitForStarts(files.log, 1);
		await connector.unregisterHandler("gated");
		await connector.registerHandler("gated", HANDLERS, "gated", undefined, { concurrency: 2 });
		// A later task of the type runs to the end: the registration's scan has been handled.
		const other = { id: "b", log: files.log, gate: files.gateFor("b") };
		openGate(other.gate);
		const next = await connector.create("gated", other, { retainFor: -1 });
		await waitForStatus(connector, next, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["r", "b"]);
		// The first attempt fails; its retry goes to the new registration at once (no poll).
		openGate(files.gate);
		const task = await waitForStatus(connector, running, [TaskStatus.Failed, TaskStatus.Success]);
		expect(task).toMatchObject({ status: TaskStatus.Failed, retriesRemaining: 0 });
		expect(starts(files.log)).toEqual(["r", "b", "r"]);
	});

	test("unregisterHandler leaves new tasks pending and lets a running one finish", async () => {
		const files = scratch();
		const { connector, start } = createConnector({ executionMode });
		await connector.registerHandler("gated", HANDLERS, "gated");
		await connector.registerHandler("echo", HANDLERS, "echo");
		await start();
		const gate = { log: files.log, gate: files.gate };
		const running = await connector.create("gated", { ...gate, id: "r" }, { retainFor: -1 });
		const queued = await connector.create("gated", { ...gate, id: "q" }, { retainFor: -1 });
		await waitForStarts(files.log, 1);
		await connector.unregisterHandler("gated");
		const created = await connector.create("gated", { ...gate, id: "c" }, { retainFor: -1 });
		openGate(files.gate);
		await waitForStatus(connector, running, [TaskStatus.Success]);
		const other = await connector.create("echo", {}, { retainFor: -1 });
		await waitForStatus(connector, other, [TaskStatus.Success]);
		expect((await connector.get(queued))?.status).toBe(TaskStatus.Pending);
		expect((await connector.get(created))?.status).toBe(TaskStatus.Pending);
		expect(starts(files.log)).toEqual(["r"]);

		await connector.registerHandler("gated", HANDLERS, "gated");
		await waitForStatus(connector, queued, [TaskStatus.Success]);
		await waitForStatus(connector, created, [TaskStatus.Success]);
		expect(starts(files.log)).toEqual(["r", "q", "c"]);
	});
});

describe("a quick handler in worker mode", () => {
	type Held = { ids: string[]; log: string; gate: string };

	/**
	 * A started worker-mode connector whose "quick" type has more runs in flight than its
	 * concurrency: that many calls hold the workers at a closed gate and the others wait in the
	 * workers' messages behind them.
	 * @param maxWorkers The pool's workers.
	 * @param concurrency The type's concurrency.
	 * @returns The connector, the held tasks, the ids in the order their runs began (reported
	 * `processing`), and how to let them finish (asserting no more than concurrency calls at once
	 * in the log).
	 */
	async function holdBeyondConcurrency(
		maxWorkers: number,
		concurrency: number
	): Promise<{
		connector: ReturnType<typeof createConnector>["connector"];
		held: Held;
		begun: string[];
		release: (held: Held) => Promise<void>;
	}> {
		const { connector, start } = createConnector({
			executionMode: "worker",
			maxWorkers,
			concurrency
		});
		const begun: string[] = [];
		await connector.registerHandler("quick", HANDLERS, "gated", async task => {
			const id = (task.payload as { id?: string } | undefined)?.id;
			if (task.status === TaskStatus.Processing && id !== undefined) {
				begun.push(id);
			}
		});
		await start();
		const open = scratch();
		openGate(open.gate);
		/**
		 * Calls that return at once, which teach the pool that the handler is quick: its average
		 * starts at the first call (the module's import not counted) and loses a fifth of the
		 * excess with each call after it, so one call starved by the machine's load raises it.
		 * @param n How many.
		 */
		const warmUp = async (n: number): Promise<void> => {
			const warmIds: string[] = [];
			for (let i = 0; i < n; i++) {
				warmIds.push(await connector.create("quick", { gate: open.gate }, { retainFor: -1 }));
			}
			for (const id of warmIds) {
				await waitForStatus(connector, id, [TaskStatus.Success]);
			}
		};
		/**
		 * Tasks whose calls wait for a closed gate; the runs that begin beyond the concurrency wait
		 * in the workers' messages behind the calls that hold the workers.
		 * @returns Their ids and where they log.
		 */
		const holdSome = async (): Promise<Held> => {
			const files = scratch();
			const ids: string[] = [];
			for (let i = 0; i < 24; i++) {
				const payload = { id: `h${i}`, log: files.log, gate: files.gate };
				ids.push(await connector.create("quick", payload, { retainFor: -1 }));
			}
			await waitForStarts(files.log, concurrency);
			return { ids, log: files.log, gate: files.gate };
		};
		const release = async (done: Held): Promise<void> => {
			openGate(done.gate);
			for (const id of done.ids) {
				await waitForStatus(connector, id, [TaskStatus.Success]);
			}
			expect(maxRunning(done.log)).toBe(concurrency);
		};
		// Whether the pool has measured the handler quick when the held tasks arrive depends on
		// how the machine treated the warm-up's calls (one starved call raises the average), so a
		// run that begins no more than the concurrency is released, warmed up again and tried again,
		// up to 3 times. The invariant, no more calls at once than the concurrency, is asserted
		// every time.
		let running = 0;
		let startsThen: string[] = [];
		let held: Held = { ids: [], log: "", gate: "" };
		for (let attempt = 0; attempt < 3 && running <= concurrency; attempt++) {
			await warmUp(80);
			held = await holdSome();
			running =
				(await waitFor(
					async () => {
						const now = (await connector.getStatistics()).running;
						return now > concurrency ? now : undefined;
					},
					3000,
					"runs beyond concurrency"
				).catch(() => undefined)) ?? 0;
			startsThen = starts(held.log);
			if (running <= concurrency) {
				await release(held);
			}
		}
		expect(running).toBeGreaterThan(concurrency);
		expect(running).toBeLessThanOrEqual(concurrency * 8);
		expect(startsThen).toHaveLength(concurrency);
		return { connector, held, begun, release };
	}

	// With 4 workers the type's messages, not the worker count, keep its calls at once to 2.
	test.each([2, 4])(
		"its runs wait in the workers beyond its type's concurrency, its calls at once never more (%i workers)",
		async maxWorkers => {
			const { held, release } = await holdBeyondConcurrency(maxWorkers, 2);
			await release(held);
		}
	);

	// At concurrency 1 (the default) the type's one message at a time runs its jobs in the order
	// their runs began, so the calls keep the type's order and never overlap.
	test("at concurrency 1 its runs wait in a worker too, called one at a time in the order they began", async () => {
		const { held, begun, release } = await holdBeyondConcurrency(2, 1);
		await release(held);
		const heldIds = new Set(starts(held.log));
		expect(heldIds.size).toBe(held.ids.length);
		expect(starts(held.log)).toEqual(begun.filter(id => heldIds.has(id)));
	});

	// A handler with a timeout gets no depth and its jobs go alone, outside the type's message
	// count; the runs it begins while the deep ones drain must still keep the calls at once to 2.
	test("registered again with a timeout while its runs wait in the workers, its calls at once never pass its concurrency", async () => {
		const { connector, held, release } = await holdBeyondConcurrency(4, 2);
		await connector.registerHandler("quick", HANDLERS, "gated", undefined, { timeout: 60_000 });
		const timed: string[] = [];
		for (let i = 0; i < 8; i++) {
			const payload = { id: `t${i}`, log: held.log, gate: held.gate };
			timed.push(await connector.create("quick", payload, { retainFor: -1 }));
		}
		expect(starts(held.log)).toHaveLength(2);
		await release({ ...held, ids: [...held.ids, ...timed] });
		expect(starts(held.log)).toHaveLength(held.ids.length + timed.length);
	});
});
