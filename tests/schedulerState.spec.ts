// Unit tests of the scheduling layer's state holders: the scheduler's phase, a queue's scans and
// coverage, the rate-limit window, and where a queue puts a task offered to it. No storage, no
// timers.
import { describe, expect, test } from "vitest";
import type { IRegisteredHandler } from "../src/contracts/schedulerModels.js";
import { QueueScanState } from "../src/scheduling/queueScanState.js";
import { SchedulerLifecycle } from "../src/scheduling/schedulerLifecycle.js";
import { StartWindow } from "../src/scheduling/startWindow.js";
import { TaskQueue } from "../src/scheduling/taskQueue.js";
import type { ITaskRef } from "../src/scheduling/taskRef.js";
import type { TaskRunner } from "../src/scheduling/taskRunner.js";

const RUNNER = {} as TaskRunner;

const HANDLER: IRegisteredHandler = {
	module: "m",
	method: "f",
	concurrency: 2,
	serial: false
};

/**
 * A task ref.
 * @param id The id.
 * @param due When it is due, epoch ms.
 * @returns The ref.
 */
function ref(id: string, due: number): ITaskRef {
	return { id, due, created: due, seq: 0, priority: 0 };
}

describe("SchedulerLifecycle", () => {
	test("stopped -> opening -> started -> stopping -> stopped", () => {
		const lifecycle = new SchedulerLifecycle();
		expect(lifecycle.phase).toBe("stopped");
		const session = lifecycle.open(RUNNER);
		expect([lifecycle.phase, lifecycle.started, lifecycle.sourceOpen]).toEqual([
			"opening",
			true,
			false
		]);
		lifecycle.opened(session);
		expect([lifecycle.phase, lifecycle.sourceOpen, lifecycle.isStarted(session)]).toEqual([
			"started",
			true,
			true
		]);
		lifecycle.beginStop();
		expect([lifecycle.phase, lifecycle.started, lifecycle.runner]).toEqual([
			"stopping",
			false,
			RUNNER
		]);
		lifecycle.stopped();
		expect([lifecycle.phase, lifecycle.runner]).toEqual(["stopped", undefined]);
	});

	test("a stop during opening wins over the open that ends after it", () => {
		const lifecycle = new SchedulerLifecycle();
		const session = lifecycle.open(RUNNER);
		lifecycle.beginStop();
		lifecycle.opened(session);
		expect(lifecycle.phase).toBe("stopping");
		lifecycle.openFailed(session);
		expect(lifecycle.phase).toBe("stopping");
	});

	test("an open that fails ends the session", () => {
		const lifecycle = new SchedulerLifecycle();
		lifecycle.openFailed(lifecycle.open(RUNNER));
		expect([lifecycle.phase, lifecycle.runner]).toEqual(["stopped", undefined]);
	});

	test("unexpected transitions throw", () => {
		const lifecycle = new SchedulerLifecycle();
		expect(() => lifecycle.beginStop()).toThrow(/unexpectedTransition/);
		expect(() => lifecycle.stopped()).toThrow(/unexpectedTransition/);
		lifecycle.open(RUNNER);
		expect(() => lifecycle.open(RUNNER)).toThrow(/unexpectedTransition/);
	});
});

describe("QueueScanState", () => {
	test("coverage: unscanned, partial up to a horizon, complete", () => {
		const scans = new QueueScanState("t");
		expect(scans.covers(0)).toBe(false);
		scans.begin(0);
		scans.markScanned(100);
		expect([scans.coverage, scans.covers(100), scans.covers(101)]).toEqual([
			{ phase: "partial", horizon: 100 },
			true,
			false
		]);
		scans.markScanned(Number.POSITIVE_INFINITY);
		scans.end(0);
		expect([scans.coverage.phase, scans.covers(1e15), scans.inFlight]).toEqual([
			"complete",
			true,
			0
		]);
		scans.reset();
		expect(scans.coverage.phase).toBe("unscanned");
	});

	test("claims in flight reserve room; failures back off; a result without a scan throws", () => {
		const scans = new QueueScanState("t");
		expect(() => scans.markScanned(1)).toThrow(/unexpectedTransition/);
		expect(() => scans.end(0)).toThrow(/unexpectedTransition/);
		scans.defer();
		scans.begin(5);
		scans.begin(3);
		expect([scans.inFlight, scans.asked, scans.rescanWanted]).toEqual([2, 8, false]);
		const before = Date.now();
		scans.markFailed(failures => failures * 1000);
		scans.markFailed(failures => failures * 1000);
		expect(scans.retryAt).toBeGreaterThanOrEqual(before + 2000);
		scans.end(5);
		scans.end(3);
		expect([scans.inFlight, scans.asked]).toEqual([0, 0]);
	});
});

describe("StartWindow", () => {
	test("the next start waits until the oldest of the last max starts left the window", () => {
		const window = new StartWindow();
		const limit = { max: 2, per: 400 };
		expect(window.readyAt(0, limit)).toBe(Number.NEGATIVE_INFINITY);
		window.noteStart(0);
		window.noteStart(10);
		expect(window.readyAt(20, limit)).toBe(400);
		expect(window.readyAt(399, limit)).toBe(400);
		expect(window.readyAt(400, limit)).toBe(Number.NEGATIVE_INFINITY);
		window.noteStart(400);
		expect(window.readyAt(401, limit)).toBe(410);
	});
});

describe("TaskQueue.offer", () => {
	test("queued within the coverage, held during a scan or a run, left beyond the horizon", () => {
		const queue = new TaskQueue("t", HANDLER);
		const now = Date.now();
		expect(queue.offer(ref("unscanned", now))).toBe(false);
		queue.scans.begin(0);
		expect(queue.offer(ref("during-scan", now))).toBe(false);
		queue.scans.markScanned(now + 1000);
		queue.scans.end(0);
		expect(queue.scans.takeArrivals().map(r => r.id)).toEqual(["during-scan"]);
		expect(queue.offer(ref("beyond", now + 2000))).toBe(false);
		expect(queue.offer(ref("a", now - 10))).toBe(true);
		expect(queue.size).toBe(1);
		expect(queue.readyAt(now, 0)).toBeLessThanOrEqual(now);
		expect(queue.startNext(now).id).toBe("a");
		expect(queue.offer(ref("a", now))).toBe(false);
		expect(queue.takeDueWhileRunning("a")?.id).toBe("a");
		queue.finish("a");
		expect([queue.runningCount, queue.readyAt(now, 0)]).toEqual([0, Number.POSITIVE_INFINITY]);
	});
});
