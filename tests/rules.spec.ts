// Unit tests of the pure task rules: no storage, no timers.
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/index.js";
import {
	abortedRun,
	cancelled,
	claimed,
	dueAt,
	isClaimable,
	failedRetried,
	isFinal,
	retriedNow,
	settled
} from "../src/domain/rules.js";
import { isExpired, removeOnSettle } from "../src/domain/retention.js";
import { iso } from "../src/domain/isoTime.js";
import { taskEntity } from "./helpers/tasks.js";

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const NOW = T0 + 60_000;
const DEFAULT_RETRY = 5000;
const ERROR = { name: "Error", message: "boom" };

/**
 * A deeply frozen task, so a rule that mutates its input throws.
 * @param overrides Fields to set.
 * @returns The frozen task.
 */
function frozen(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const task = taskEntity({
		dateCreated: iso(T0),
		dateModified: iso(T0),
		dateNextProcess: iso(T0),
		...overrides
	});
	for (const value of Object.values(task)) {
		if (typeof value === "object" && value !== null) {
			Object.freeze(value);
		}
	}
	return Object.freeze(task);
}

/**
 * A processing task, as it is when its attempt settles.
 * @param overrides Fields to set.
 * @returns The frozen task.
 */
function running(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	return frozen({ status: TaskStatus.Processing, ...overrides });
}

describe("iso, isFinal, dueAt", () => {
	test("iso formats epoch ms as ISO 8601", () => {
		expect(iso(T0)).toBe("2026-03-01T10:00:00.000Z");
	});

	test("only success, failed and cancelled are final", () => {
		expect(Object.values(TaskStatus).filter(isFinal).sort()).toEqual([
			"cancelled",
			"failed",
			"success"
		]);
	});

	test("dueAt is dateNextProcess in ms, Infinity without one", () => {
		expect(dueAt({ dateNextProcess: iso(T0) })).toBe(T0);
		expect(dueAt({})).toBe(Number.POSITIVE_INFINITY);
	});
});

describe("settled: success", () => {
	test("records the result, completes the task, clears retry state and replaces retainFor with retainUntil", () => {
		const task = running({
			retriesRemaining: 2,
			retryInterval: 100,
			error: ERROR,
			payload: { p: 1 },
			retainFor: -1
		});
		const next = settled(task, { ok: true, result: { r: 1 } }, NOW, DEFAULT_RETRY);
		expect(next).toEqual({
			id: task.id,
			type: task.type,
			threadId: "main",
			dateCreated: iso(T0),
			dateModified: iso(NOW),
			dateCompleted: iso(NOW),
			status: TaskStatus.Success,
			payload: { p: 1 },
			result: { r: 1 },
			retainUntil: -1
		});
		expect("retainFor" in next).toBe(false);
		expect(next).not.toBe(task);
	});

	test("an undefined result leaves no result field", () => {
		const next = settled(
			running({ result: { old: true }, retainFor: -1 }),
			{ ok: true },
			NOW,
			DEFAULT_RETRY
		);
		expect(next.status).toBe(TaskStatus.Success);
		expect("result" in next).toBe(false);
	});

	test("a falsy result (0, false, empty string, null) is kept", () => {
		for (const result of [0, false, "", null]) {
			const next = settled(running({ retainFor: -1 }), { ok: true, result }, NOW, DEFAULT_RETRY);
			expect(next.result).toBe(result);
		}
	});

	test("retainFor 0 sets no retainUntil and marks the task for removal", () => {
		const next = settled(running({ retainFor: 0 }), { ok: true }, NOW, DEFAULT_RETRY);
		expect(next.retainUntil).toBeUndefined();
		expect(removeOnSettle(next)).toBe(true);
	});

	test("retainFor undefined sets no retainUntil and is kept (only retainFor exactly 0 removes, as the original)", () => {
		const next = settled(running({ retainFor: undefined }), { ok: true }, NOW, DEFAULT_RETRY);
		expect(next.retainUntil).toBeUndefined();
		expect(removeOnSettle(next)).toBe(false);
	});

	test("retainFor -1 keeps forever (retainUntil -1, retainFor removed) and is not removed", () => {
		const next = settled(running({ retainFor: -1 }), { ok: true }, NOW, DEFAULT_RETRY);
		expect(next.retainUntil).toBe(-1);
		expect(next.retainFor).toBeUndefined();
		expect(removeOnSettle(next)).toBe(false);
		expect(isExpired(next, Number.MAX_SAFE_INTEGER)).toBe(false);
	});

	test("retainFor n sets retainUntil = dateModified + n and removes retainFor", () => {
		const next = settled(running({ retainFor: 30_000 }), { ok: true }, NOW, DEFAULT_RETRY);
		expect(next.retainUntil).toBe(NOW + 30_000);
		expect(next.retainFor).toBeUndefined();
		expect(Date.parse(next.dateModified) + 30_000).toBe(next.retainUntil);
		expect(removeOnSettle(next)).toBe(false);
	});
});

describe("settled: failure", () => {
	test("with retries left: pending again, one retry fewer, due after the task's retryInterval", () => {
		const task = running({ retriesRemaining: 2, retryInterval: 750, retainFor: -1 });
		const next = settled(task, { ok: false, error: ERROR }, NOW, DEFAULT_RETRY);
		expect(next.status).toBe(TaskStatus.Pending);
		expect(next.retriesRemaining).toBe(1);
		expect(next.error).toEqual(ERROR);
		expect(next.dateModified).toBe(iso(NOW));
		expect(next.dateNextProcess).toBe(iso(NOW + 750));
		expect(next.dateCompleted).toBeUndefined();
		expect(next.retainUntil).toBeUndefined();
		expect(next.retryInterval).toBe(750);
		expect(removeOnSettle(next)).toBe(false);
	});

	test("with retries left and no retryInterval: due after the default interval", () => {
		const next = settled(
			running({ retriesRemaining: 1 }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY
		);
		expect(next.status).toBe(TaskStatus.Pending);
		expect(next.retriesRemaining).toBe(0);
		expect(next.dateNextProcess).toBe(iso(NOW + DEFAULT_RETRY));
	});

	test("with retriesRemaining 0: failed and completed", () => {
		const next = settled(
			running({ retriesRemaining: 0, retainFor: -1 }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY
		);
		expect(next.status).toBe(TaskStatus.Failed);
		expect(next.error).toEqual(ERROR);
		expect(next.dateCompleted).toBe(iso(NOW));
		expect(next.dateModified).toBe(iso(NOW));
		expect(next.dateNextProcess).toBeUndefined();
		expect(next.retainUntil).toBe(-1);
		expect(next.retainFor).toBeUndefined();
	});

	test("without retriesRemaining (created without retryCount): fails on the first error", () => {
		const next = settled(
			running({ retriesRemaining: undefined }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY
		);
		expect(next.status).toBe(TaskStatus.Failed);
		expect(next.dateCompleted).toBe(iso(NOW));
		expect(removeOnSettle(next)).toBe(true);
	});

	test("a final failure applies retainFor n and removes retainFor", () => {
		const next = settled(
			running({ retainFor: 10 }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY
		);
		expect(next.retainUntil).toBe(NOW + 10);
		expect(next.retainFor).toBeUndefined();
		expect(removeOnSettle(next)).toBe(false);
	});
});

describe("cancelled", () => {
	test("a pending task becomes cancelled with dateCancelled and no dateNextProcess, keeping retainFor", () => {
		const task = frozen({ retainFor: -1, retriesRemaining: 1 });
		const next = cancelled(task, NOW);
		expect(next).toBeDefined();
		expect(next?.status).toBe(TaskStatus.Cancelled);
		expect(next?.dateCancelled).toBe(iso(NOW));
		expect(next?.dateModified).toBe(iso(NOW));
		expect(next?.dateNextProcess).toBeUndefined();
		expect(next?.dateCreated).toBe(iso(T0));
		expect(next?.retainUntil).toBe(-1);
		expect(next?.retainFor).toBe(-1);
	});

	test("retain rules apply: 0 removes, n sets retainUntil", () => {
		const zero = cancelled(frozen({ retainFor: 0 }), NOW) as BackgroundTask;
		expect(removeOnSettle(zero)).toBe(true);
		const n = cancelled(frozen({ retainFor: 500 }), NOW) as BackgroundTask;
		expect(n.retainUntil).toBe(NOW + 500);
		expect(removeOnSettle(n)).toBe(false);
	});

	test.each([TaskStatus.Processing, TaskStatus.Success, TaskStatus.Failed, TaskStatus.Cancelled])(
		"a %s task is not cancelled",
		status => {
			expect(cancelled(frozen({ status }), NOW)).toBeUndefined();
		}
	);
});

describe("abortedRun", () => {
	test("a running task with retries left becomes cancelled with the reason as an AbortError, not retried", () => {
		const task = running({ retriesRemaining: 3, retainFor: 500, attempts: 1, progress: { n: 1 } });
		const next = abortedRun(task, "enough", NOW);
		expect(next.status).toBe(TaskStatus.Cancelled);
		expect(next.error).toEqual({ name: "AbortError", message: "enough" });
		expect(next.dateCancelled).toBe(iso(NOW));
		expect(next.dateModified).toBe(iso(NOW));
		expect(next.dateNextProcess).toBeUndefined();
		expect(next.retriesRemaining).toBe(3);
		expect(next.attempts).toBe(1);
		expect(next.progress).toEqual({ n: 1 });
		expect(next.retainUntil).toBe(NOW + 500);
		expect(removeOnSettle(next)).toBe(false);
		expect(removeOnSettle(abortedRun(running({ retainFor: 0 }), "r", NOW))).toBe(true);
	});
});

describe("retriedNow", () => {
	test("a pending task waiting for a retry becomes due now", () => {
		const task = frozen({
			dateNextProcess: iso(NOW + 3_600_000),
			retriesRemaining: 1,
			error: ERROR
		});
		const next = retriedNow(task, NOW);
		expect(next?.status).toBe(TaskStatus.Pending);
		expect(next?.dateNextProcess).toBe(iso(NOW));
		expect(next?.dateModified).toBe(iso(NOW));
		expect(next?.retriesRemaining).toBe(1);
	});

	test("a failed task is back to pending, due now, without completion or retain date", () => {
		const task = frozen({
			status: TaskStatus.Failed,
			dateNextProcess: undefined,
			dateCompleted: iso(T0),
			retainFor: 1000,
			retainUntil: T0 + 1000,
			retriesRemaining: 0,
			error: ERROR
		});
		const next = retriedNow(task, NOW);
		expect(next?.status).toBe(TaskStatus.Pending);
		expect(next?.dateNextProcess).toBe(iso(NOW));
		expect(next?.dateModified).toBe(iso(NOW));
		expect(next?.dateCompleted).toBeUndefined();
		expect(next?.retainUntil).toBeUndefined();
		expect(next?.retainFor).toBe(1000);
	});

	test("a failed task stored with retainUntil instead of retainFor gets its retain period back", () => {
		for (const [retainFor, retainUntil] of [
			[30_000, T0 + 30_000],
			[-1, -1]
		]) {
			const failed = settled(
				running({ retainFor, dateModified: iso(T0) }),
				{ ok: false, error: ERROR },
				T0,
				DEFAULT_RETRY
			);
			expect(failed.retainFor).toBeUndefined();
			expect(failed.retainUntil).toBe(retainUntil);
			const next = retriedNow(failed, NOW);
			expect(next?.retainUntil).toBeUndefined();
			expect(next?.retainFor).toBe(retainFor);
		}
	});

	test.each([TaskStatus.Processing, TaskStatus.Success, TaskStatus.Cancelled])(
		"a %s task is not retried",
		status => {
			expect(retriedNow(frozen({ status }), NOW)).toBeUndefined();
		}
	);
});

describe("failedRetried", () => {
	test("a failed task comes back as retriedNow brings it back", () => {
		const task = frozen({
			status: TaskStatus.Failed,
			dateNextProcess: undefined,
			dateCompleted: iso(T0),
			retainUntil: -1,
			retriesRemaining: 0,
			error: ERROR
		});
		expect(failedRetried(task, NOW)).toEqual(retriedNow(task, NOW));
		expect(failedRetried(task, NOW)?.status).toBe(TaskStatus.Pending);
	});

	test.each([TaskStatus.Pending, TaskStatus.Processing, TaskStatus.Success, TaskStatus.Cancelled])(
		"a %s task is left alone (retry() would make a waiting one due now)",
		status => {
			expect(failedRetried(frozen({ status }), NOW)).toBeUndefined();
		}
	);
});

describe("claimed", () => {
	test("sets processing and dateModified, keeps dateNextProcess", () => {
		const next = claimed(frozen(), NOW);
		expect(next.status).toBe(TaskStatus.Processing);
		expect(next.dateModified).toBe(iso(NOW));
		expect(next.dateNextProcess).toBe(iso(T0));
	});
});

describe("isExpired", () => {
	test.each([TaskStatus.Success, TaskStatus.Failed, TaskStatus.Cancelled])(
		"a %s task with retainUntil in the past is expired",
		status => {
			expect(isExpired({ status, retainUntil: NOW - 1 }, NOW)).toBe(true);
		}
	);

	test("retainUntil equal to now is not yet expired", () => {
		expect(isExpired({ status: TaskStatus.Success, retainUntil: NOW }, NOW)).toBe(false);
	});

	test("retainUntil in the future is not expired", () => {
		expect(isExpired({ status: TaskStatus.Success, retainUntil: NOW + 1 }, NOW)).toBe(false);
	});

	test("retainUntil -1 (forever) and no retainUntil are never expired", () => {
		expect(isExpired({ status: TaskStatus.Success, retainUntil: -1 }, NOW)).toBe(false);
		expect(isExpired({ status: TaskStatus.Success }, NOW)).toBe(false);
	});

	test.each([TaskStatus.Pending, TaskStatus.Processing])("a %s task is never expired", status => {
		expect(isExpired({ status, retainUntil: NOW - 1 }, NOW)).toBe(false);
	});
});

describe("isClaimable", () => {
	test("a due pending task of this thread is claimable", () => {
		expect(isClaimable(frozen(), "main", NOW)).toBe(true);
	});

	test("a task due exactly now is claimable", () => {
		expect(isClaimable(frozen({ dateNextProcess: iso(NOW) }), "main", NOW)).toBe(true);
	});

	test("a processing task left by a crash is claimable again", () => {
		expect(isClaimable(frozen({ status: TaskStatus.Processing }), "main", NOW)).toBe(true);
	});

	test("a processing task modified after this instance started is running elsewhere: not claimable", () => {
		const task = frozen({ status: TaskStatus.Processing, dateModified: iso(NOW - 10) });
		expect(isClaimable(task, "main", NOW, NOW - 20)).toBe(false);
		expect(isClaimable(task, "main", NOW, NOW - 10)).toBe(true);
	});

	test("a task of another thread is not claimable", () => {
		expect(isClaimable(frozen({ threadId: "7" }), "main", NOW)).toBe(false);
	});

	test("a task due in the future is not claimable", () => {
		expect(isClaimable(frozen({ dateNextProcess: iso(NOW + 1) }), "main", NOW)).toBe(false);
	});

	test("a task without dateNextProcess is not claimable", () => {
		expect(isClaimable(frozen({ dateNextProcess: undefined }), "main", NOW)).toBe(false);
	});

	test.each([TaskStatus.Success, TaskStatus.Failed, TaskStatus.Cancelled])(
		"a %s task is not claimable even when it has a due date",
		status => {
			expect(isClaimable(frozen({ status }), "main", NOW)).toBe(false);
		}
	);
});

describe("removeOnSettle", () => {
	test("never removes a non-final task, whatever retainFor", () => {
		expect(removeOnSettle(frozen({ status: TaskStatus.Pending, retainFor: 0 }))).toBe(false);
		expect(removeOnSettle(frozen({ status: TaskStatus.Processing, retainFor: 0 }))).toBe(false);
	});
});

describe("the dead-letter: failedRetainFor", () => {
	/**
	 * The task after its last attempt failed, under a failedRetainFor.
	 * @param retainFor The task's own retainFor.
	 * @param failedRetainFor The setting.
	 * @returns The failed task.
	 */
	function failedWith(retainFor: number | undefined, failedRetainFor?: number): BackgroundTask {
		return settled(
			running({ retainFor, retriesRemaining: 0 }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY,
			undefined,
			undefined,
			failedRetainFor
		);
	}

	test("-1 keeps a failed task with retainFor 0 for ever, keeping its own retainFor", () => {
		const next = failedWith(0, -1);
		expect(next.status).toBe(TaskStatus.Failed);
		expect(next.retainUntil).toBe(-1);
		expect(next.retainFor).toBe(0);
		expect(removeOnSettle(next, -1)).toBe(false);
		expect(isExpired(next, Number.MAX_SAFE_INTEGER)).toBe(false);
	});

	test("n keeps a failed task n ms, then it is expired, whatever its own retainFor", () => {
		for (const retainFor of [0, -1, 10, undefined]) {
			const next = failedWith(retainFor, 30_000);
			expect(next.retainUntil, String(retainFor)).toBe(NOW + 30_000);
			expect(next.retainFor, String(retainFor)).toBe(retainFor);
			expect(removeOnSettle(next, 30_000)).toBe(false);
			expect(isExpired(next, NOW + 30_000)).toBe(false);
			expect(isExpired(next, NOW + 30_001)).toBe(true);
		}
	});

	test("0 removes a failed task at once, even one created with retainFor -1", () => {
		const next = failedWith(-1, 0);
		expect(next.retainUntil).toBeUndefined();
		expect(removeOnSettle(next, 0)).toBe(true);
	});

	test("unset: a failed task follows its own retainFor, as before", () => {
		const removed = failedWith(0);
		expect(removed.retainUntil).toBeUndefined();
		expect(removeOnSettle(removed, undefined)).toBe(true);
		const kept = failedWith(-1);
		expect(kept.retainUntil).toBe(-1);
		expect(kept.retainFor).toBeUndefined();
		expect(removeOnSettle(kept, undefined)).toBe(false);
	});

	test("success and retries are unaffected", () => {
		const success = settled(
			running({ retainFor: 0 }),
			{ ok: true },
			NOW,
			DEFAULT_RETRY,
			undefined,
			undefined,
			-1
		);
		expect(success.retainUntil).toBeUndefined();
		expect(removeOnSettle(success, -1)).toBe(true);
		const retrying = settled(
			running({ retainFor: 0, retriesRemaining: 1 }),
			{ ok: false, error: ERROR },
			NOW,
			DEFAULT_RETRY,
			undefined,
			undefined,
			-1
		);
		expect(retrying.status).toBe(TaskStatus.Pending);
		expect(retrying.retainUntil).toBeUndefined();
		expect(removeOnSettle(retrying, -1)).toBe(false);
		const cancel = cancelled(frozen({ retainFor: 0 }), NOW) as BackgroundTask;
		expect(removeOnSettle(cancel, -1)).toBe(true);
	});

	test("a retry gives the task back its own retainFor, not the dead-letter's", () => {
		for (const retainFor of [0, 60_000, -1]) {
			const next = retriedNow(failedWith(retainFor, -1), NOW + 1000);
			expect(next?.status).toBe(TaskStatus.Pending);
			expect(next?.retainFor).toBe(retainFor);
			expect(next?.retainUntil).toBeUndefined();
			expect(next?.retriesRemaining).toBe(0);
		}
	});
});
