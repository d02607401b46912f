// Storage faults (issue 6, item 1; SPEC section 6 "storage throwing on any call"). The connector
// runs over FaultyStorage, a wrapper around the real in-memory connector that fails calls (a seeded
// share, or chosen calls) and adds latency. Handlers run inline (the storage path is the subject,
// not isolation) and record every start in an in-process registry, in one total order with the
// test's own markers ("cancel returned", "remove returned").
//
// What must hold: every task ends final or pending with a future retry; no task starts after its
// cancel returned, none is resurrected after its remove returned, none is lost after a retry
// returned; no unhandled rejection or uncaught exception; processing resumes fully once the faults
// stop; while storage is down the connector backs off instead of hammering it.
import { spawn } from "node:child_process";
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { BackgroundTask, EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import {
	FaultyStorage,
	InjectedStorageFault,
	seededRandom,
	type IStorageCall
} from "../helpers/faultyStorage.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";

const HANDLERS = new URL("../fixtures/reliability-handlers.mjs", import.meta.url).href;
const OUTAGE_CHILD = new URL("../fixtures/reliability-outage-child.mjs", import.meta.url).pathname;
const URN_PREFIX = "background-task:entity-storage:";

/**
 * The seed of the fault and workload generators: change it to explore, keep it to reproduce.
 */
const SEED = 20260601;

interface IRegistryEvent {
	seq: number;
	key: string;
	kind: string;
	at: number;
}

interface IRegistry {
	seq: number;
	events: IRegistryEvent[];
	attempts: Map<string, number>;
}

/**
 * The in-process registry the inline handlers write to (see reliability-handlers.mjs).
 * @returns The registry.
 */
function registry(): IRegistry {
	const holder = globalThis as unknown as { __reliability?: IRegistry };
	holder.__reliability ??= { seq: 0, events: [], attempts: new Map() };
	return holder.__reliability;
}

/**
 * Put a test marker into the registry's total order.
 * @param key The task key.
 * @param kind The marker.
 * @returns The sequence number.
 */
function mark(key: string, kind: string): number {
	const reg = registry();
	reg.events.push({ seq: ++reg.seq, key, kind, at: Date.now() });
	return reg.seq;
}

const processErrors: unknown[] = [];
const onProcessError = (err: unknown): void => {
	processErrors.push(err);
};

beforeEach(() => {
	(globalThis as unknown as { __reliability?: IRegistry }).__reliability = undefined;
	processErrors.length = 0;
	process.on("unhandledRejection", onProcessError);
	process.on("uncaughtException", onProcessError);
});

afterEach(() => {
	process.off("unhandledRejection", onProcessError);
	process.off("uncaughtException", onProcessError);
});

/**
 * A memory store wrapped in FaultyStorage.
 * @param seed The seed.
 * @returns Both.
 */
function faultyMemory(seed = SEED): {
	inner: MemoryEntityStorageConnector<BackgroundTask>;
	faulty: FaultyStorage<BackgroundTask>;
} {
	const inner = new MemoryEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask"
	});
	return { inner, faulty: new FaultyStorage<BackgroundTask>(inner, {}, seed) };
}

/**
 * Call an operation until it does not fail with an injected fault, as a caller with its own retry
 * policy would. Any other error fails the test.
 * @param op The operation.
 * @returns Its result.
 */
async function persist<T>(op: () => Promise<T>): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await op();
		} catch (err) {
			if (!(err instanceof InjectedStorageFault) || attempt >= 50) {
				throw err;
			}
		}
	}
}

/**
 * A copy of every stored task, straight from the inner store (no faults).
 * @param inner The store.
 * @returns The tasks.
 */
function stored(inner: MemoryEntityStorageConnector<BackgroundTask>): BackgroundTask[] {
	return structuredClone(inner.getStore());
}

/**
 * The storage id of a URN.
 * @param urn The URN.
 * @returns The id.
 */
function idOf(urn: string): string {
	return urn.slice(URN_PREFIX.length);
}

/**
 * Is the call the runner's settle write of the task with this payload key: success, failed, or
 * pending with the attempt's error and a later due date. (create writes pending without error,
 * retry() writes pending due at once, cancel writes cancelled, a claim writes processing.)
 * @param call The call.
 * @param key The payload key.
 * @returns True for the runner's settle write.
 */
function isSettleWrite(call: IStorageCall, key: string): boolean {
	if (call.method !== "set") {
		return false;
	}
	const entity = call.args[0] as BackgroundTask;
	if ((entity.payload as { key?: string } | undefined)?.key !== key) {
		return false;
	}
	return (
		entity.status === TaskStatus.Success ||
		entity.status === TaskStatus.Failed ||
		(entity.status === TaskStatus.Pending &&
			entity.error !== undefined &&
			entity.dateNextProcess !== entity.dateModified)
	);
}

/**
 * Is the status final.
 * @param status The status.
 * @returns True for success, failed and cancelled.
 */
function isFinal(status: string): boolean {
	return (
		status === TaskStatus.Success || status === TaskStatus.Failed || status === TaskStatus.Cancelled
	);
}

interface ITaskPlan {
	key: string;
	failTimes: number;
	retryCount?: number;
	retryInterval?: number;
	retainFor: number;
	delayMs: number;
	longWait: boolean;
}

describe("storage failing 10% of calls", () => {
	test("2,000 tasks: final or waiting, nothing runs after cancel or remove, full recovery", async () => {
		const random = seededRandom(SEED);
		const { inner, faulty } = faultyMemory();
		const keyById = new Map<string, string>();
		// Every committed write and removal goes into the registry's total order.
		faulty.configure({
			failRate: 0.1,
			latencyMs: [0, 1],
			afterCall: call => {
				if (call.method === "set") {
					const entity = call.args[0] as BackgroundTask;
					mark((entity.payload as { key: string }).key, `write ${entity.status}`);
				} else if (call.method === "remove") {
					mark(keyById.get(call.args[0] as string) ?? "?", "storage remove");
				}
			}
		});
		const { connector, start } = createConnector(
			{
				executionMode: "inline",
				concurrency: 16,
				retryInterval: 25,
				pollInterval: 100,
				shutdownTimeout: 2000
			},
			faulty
		);
		const finals = new Map<string, string>();
		const callback = async (task: IBackgroundTask): Promise<void> => {
			const key = (task.payload as { key: string }).key;
			if (task.status !== TaskStatus.Processing && task.status !== TaskStatus.Pending) {
				finals.set(key, task.status);
			}
		};
		const types = ["alpha", "beta", "gamma"];
		for (const type of types) {
			await persist(async () => connector.registerHandler(type, HANDLERS, "work", callback));
		}
		await start();

		// The workload, drawn from the seeded generator.
		const plans: ITaskPlan[] = [];
		for (let i = 0; i < 2000; i++) {
			const r = random();
			const longWait = r < 0.05;
			plans.push({
				key: `t${i}`,
				failTimes: longWait ? 1 : r < 0.6 ? 0 : r < 0.8 ? 1 : r < 0.9 ? 3 : 99,
				retryCount: longWait ? 1 : random() < 0.3 ? undefined : 1 + Math.floor(random() * 3),
				retryInterval: longWait
					? 600_000
					: random() < 0.5
						? undefined
						: 5 + Math.floor(random() * 30),
				retainFor: random() < 0.2 ? 0 : -1,
				delayMs: random() < 0.2 ? 1 + Math.floor(random() * 4) : 0,
				longWait
			});
		}

		const urnByKey = new Map<string, string>();
		// Registry sequence numbers at which storage was seen, right after an operation returned,
		// to hold the task cancelled, or not to hold it at all.
		const cancelledAt = new Map<string, number>();
		const goneAt = new Map<string, number>();
		const retryCalls = new Map<string, number>();
		let opCount = 0;

		const observeAfter = (plan: ITaskPlan): void => {
			const now = inner.getStore().find(t => t.id === idOf(urnByKey.get(plan.key) as string));
			if (!now) {
				if (!goneAt.has(plan.key)) {
					goneAt.set(plan.key, mark(plan.key, "seen gone"));
				}
			} else if (now.status === TaskStatus.Cancelled && !cancelledAt.has(plan.key)) {
				cancelledAt.set(plan.key, mark(plan.key, "seen cancelled"));
			}
		};

		const runOp = async (plan: ITaskPlan): Promise<void> => {
			const urn = urnByKey.get(plan.key) as string;
			const pick = random();
			opCount++;
			if (pick < 0.45) {
				await persist(async () => connector.cancel(urn));
				observeAfter(plan);
			} else if (pick < 0.65) {
				await persist(async () => connector.remove(urn));
				observeAfter(plan);
				expect(goneAt.has(plan.key)).toBe(true);
			} else if (pick < 0.8) {
				retryCalls.set(plan.key, (retryCalls.get(plan.key) ?? 0) + 1);
				await persist(async () => connector.retry(urn));
			} else if (pick < 0.95) {
				const task = await persist(async () => connector.get(urn));
				if (task) {
					expect((task.payload as { key: string }).key).toBe(plan.key);
				}
			} else {
				const page = await persist(async () =>
					connector.query(types[0], TaskStatus.Pending, undefined, undefined, undefined, 20)
				);
				for (const task of page.entities) {
					expect(task.type).toBe(types[0]);
					expect(task.status).toBe(TaskStatus.Pending);
				}
			}
		};

		// Create in batches of 100 (each create retried on a fault, as a caller would), and after each
		// batch act on recent tasks while they are pending or running.
		for (let batch = 0; batch < 20; batch++) {
			const slice = plans.slice(batch * 100, batch * 100 + 100);
			await Promise.all(
				slice.map(async (plan, i) => {
					const urn = await persist(async () =>
						connector.create(
							types[(batch * 100 + i) % types.length],
							{ key: plan.key, failTimes: plan.failTimes, delayMs: plan.delayMs, value: i },
							{
								retryCount: plan.retryCount,
								retryInterval: plan.retryInterval,
								retainFor: plan.retainFor
							}
						)
					);
					urnByKey.set(plan.key, urn);
					keyById.set(idOf(urn), plan.key);
				})
			);
			const recent = plans.slice(Math.max(0, batch * 100 - 100), batch * 100 + 100);
			const targets = recent.filter(() => random() < 0.08);
			await Promise.all(targets.map(async plan => runOp(plan)));
		}
		expect(opCount).toBeGreaterThan(100);
		expect(faulty.faults.before).toBeGreaterThan(500);

		// Under continuing faults, the work drains: nothing processing, nothing pending and due. The
		// snapshot and its time are taken together: a retry due a moment later is then due, and
		// may already be running, by the time a second look is taken.
		const { underFaults, now } = await waitFor(
			() => {
				const at = Date.now();
				const tasks = stored(inner);
				return tasks.every(
					t =>
						t.status !== TaskStatus.Processing &&
						(t.status !== TaskStatus.Pending || Date.parse(t.dateNextProcess as string) > at)
				)
					? { underFaults: tasks, now: at }
					: undefined;
			},
			20000,
			"every task final or waiting for a future retry, under faults"
		);
		for (const task of underFaults) {
			const key = keyById.get(task.id) as string;
			const final = isFinal(task.status);
			const waiting =
				task.status === TaskStatus.Pending && Date.parse(task.dateNextProcess as string) > now;
			expect({ key, status: task.status, ok: final || waiting }).toMatchObject({ key, ok: true });
		}

		// Faults off: the long waits are retried now, everything finishes.
		faulty.enabled = false;
		const waiting = underFaults.filter(t => t.status === TaskStatus.Pending);
		expect(waiting.length).toBeGreaterThan(20);
		for (const task of waiting) {
			const key = keyById.get(task.id) as string;
			retryCalls.set(key, (retryCalls.get(key) ?? 0) + 1);
			await connector.retry(`${URN_PREFIX}${task.id}`);
		}
		await waitFor(
			() => stored(inner).every(t => isFinal(t.status)),
			10000,
			"every task final once the faults stopped"
		);

		// Per-task checks against the plan and the total order of starts, writes and markers.
		const events = registry().events;
		const byKey = new Map<string, IRegistryEvent[]>();
		for (const event of events) {
			byKey.set(event.key, [...(byKey.get(event.key) ?? []), event]);
		}
		const starts = new Map<string, IRegistryEvent[]>();
		for (const [key, list] of byKey) {
			starts.set(
				key,
				list.filter(e => e.kind === "start")
			);
			// Every run was claimed first: the latest write before each start is "processing".
			for (const start of list.filter(e => e.kind === "start")) {
				const lastWrite = list.filter(e => e.seq < start.seq && e.kind.startsWith("write")).at(-1);
				expect({ key, claimedBeforeRun: lastWrite?.kind }).toEqual({
					key,
					claimedBeforeRun: "write processing"
				});
			}
		}
		const finalStore = new Map(stored(inner).map(t => [keyById.get(t.id) as string, t]));
		for (const plan of plans) {
			const key = plan.key;
			const task = finalStore.get(key);
			const runs = starts.get(key) ?? [];
			const cancelSeq = cancelledAt.get(key);
			const goneSeq = goneAt.get(key);
			if (cancelSeq !== undefined) {
				const late = runs.filter(e => e.seq > cancelSeq).length;
				expect({ key, startsAfterCancelReturned: late }).toEqual({
					key,
					startsAfterCancelReturned: 0
				});
				expect({ key, status: task?.status ?? "gone" }).toEqual({
					key,
					status: plan.retainFor === 0 || goneSeq !== undefined ? "gone" : TaskStatus.Cancelled
				});
			}
			if (goneSeq !== undefined) {
				// Once storage no longer holds the task, nothing writes it again (no resurrection) and at
				// most the run claimed before the removal still starts.
				const list = byKey.get(key) ?? [];
				const writesAfter = list
					.filter(e => e.seq > goneSeq && e.kind.startsWith("write"))
					.map(e => e.kind);
				const late = runs.filter(e => e.seq > goneSeq).length;
				expect({ key, writesAfter, lateStarts: late <= 1, stored: task !== undefined }).toEqual({
					key,
					writesAfter: [],
					lateStarts: true,
					stored: false
				});
				continue;
			}
			const maxRuns = 1 + (plan.retryCount ?? 0) + (retryCalls.get(key) ?? 0);
			expect({ key, runs: runs.length, tooMany: runs.length > maxRuns }).toMatchObject({
				key,
				tooMany: false
			});
			// Retain: -1 keeps every final task, 0 removes it.
			expect({ key, stored: task !== undefined }).toEqual({ key, stored: plan.retainFor === -1 });
			if (task?.status === TaskStatus.Success) {
				expect(task.result).toEqual({ key, attempt: runs.length, value: expect.any(Number) });
				expect({ key, runs: runs.length }).toEqual({ key, runs: plan.failTimes + 1 });
			}
			if (task?.status === TaskStatus.Failed && !retryCalls.has(key)) {
				expect({ key, runs: runs.length }).toEqual({ key, runs: 1 + (plan.retryCount ?? 0) });
			}
			if (plan.retainFor === 0 && runs.length > 0 && cancelSeq === undefined) {
				// Removed once final: the state-change callback heard the final state first.
				expect({ key, heard: finals.get(key) }).toEqual({
					key,
					heard: expect.stringMatching(/^(success|failed)$/)
				});
			}
		}
		// The long waits ran their retry after the faults stopped and succeeded.
		for (const plan of plans.filter(
			p => p.longWait && !goneAt.has(p.key) && !cancelledAt.has(p.key)
		)) {
			const task = finalStore.get(plan.key);
			const status = task?.status ?? finals.get(plan.key);
			expect({ key: plan.key, status }).toEqual({ key: plan.key, status: TaskStatus.Success });
		}

		// Fully resumed: new work flows through without faults.
		const fresh = await Promise.all(
			Array.from({ length: 100 }, async (_, i) =>
				connector.create(types[i % 3], { key: `fresh${i}`, failTimes: 0 }, { retainFor: -1 })
			)
		);
		for (const urn of fresh) {
			expect((await waitForStatus(connector, urn, ["success", "failed"], 5000)).status).toBe(
				"success"
			);
		}
		expect(processErrors).toEqual([]);
	}, 60000);
});

/**
 * The stored task with this payload key, a copy, from the inner store.
 * @param inner The store.
 * @param key The key.
 * @returns The task or undefined.
 */
function storedByKey(
	inner: MemoryEntityStorageConnector<BackgroundTask>,
	key: string
): BackgroundTask | undefined {
	return stored(inner).find(t => (t.payload as { key?: string } | undefined)?.key === key);
}

/**
 * The runs of a key as [start, end] pairs from the registry, and whether two ever overlapped.
 * @param key The key.
 * @returns The start count and the overlap flag.
 */
function runsOf(key: string): { starts: number; overlapped: boolean } {
	let running = 0;
	let starts = 0;
	let overlapped = false;
	for (const event of registry().events.filter(e => e.key === key)) {
		if (event.kind === "start") {
			starts++;
			running++;
			overlapped ||= running > 1;
		} else if (event.kind === "end") {
			running--;
		}
	}
	return { starts, overlapped };
}

describe("races under storage latency and ambiguous failures", () => {
	test("a retry due before its previous run is cleaned up never runs twice at once", async () => {
		// The settle write takes 5 ms (storage latency), so the retry (retryInterval 1) is already due
		// when the scheduler re-queues it, and starts at once.
		const { inner, faulty } = faultyMemory();
		faulty.configure({
			onCall: async call => {
				if (isSettleWrite(call, "dup")) {
					await new Promise(resolve => setTimeout(resolve, 5));
				}
			}
		});
		const { connector, start } = createConnector(
			{ executionMode: "inline", pollInterval: 100 },
			faulty
		);
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		// Each attempt runs 250 ms, so at least one poll (every 100 ms) happens during each.
		const urn = await connector.create(
			"work",
			{ key: "dup", failTimes: 2, delayMs: 250 },
			{ retryCount: 2, retryInterval: 1, retainFor: -1 }
		);
		const task = await waitForStatus(connector, urn, ["success", "failed"], 10000);
		expect({ status: task.status, ...runsOf("dup") }).toEqual({
			status: "success",
			starts: 3,
			overlapped: false
		});
		expect(task.result).toEqual({ key: "dup", attempt: 3 });
		expect(storedByKey(inner, "dup")?.status).toBe(TaskStatus.Success);
		expect(processErrors).toEqual([]);
	});

	test("a retry started before its previous run is cleaned up keeps the type's concurrency", async () => {
		// Type concurrency 1. A fails its first attempt with a 1 ms retry interval; its settle write
		// takes 5 ms, at the end of which C (waiting for a retry in 60 s) is retried: C becomes due
		// just after A's retry, so A's retry starts first, and C must wait until A has finished.
		const { faulty } = faultyMemory();
		let urnC = "";
		let connectorRef: EntityStorageBackgroundTaskConnector | undefined;
		faulty.configure({
			onCall: async call => {
				if (
					isSettleWrite(call, "A") &&
					(call.args[0] as BackgroundTask).status === TaskStatus.Pending
				) {
					await new Promise(resolve => setTimeout(resolve, 5));
					await connectorRef?.retry(urnC);
				}
			}
		});
		const { connector, start } = createConnector(
			{ executionMode: "inline", pollInterval: 100, concurrency: 1 },
			faulty
		);
		connectorRef = connector;
		const heard: string[] = [];
		await connector.registerHandler("work", HANDLERS, "work", async task => {
			heard.push(`${(task.payload as { key: string }).key} ${task.status}`);
		});
		await start();
		urnC = await connector.create(
			"work",
			{ key: "C", failTimes: 1, delayMs: 1 },
			{ retryCount: 1, retryInterval: 60_000, retainFor: -1 }
		);
		await waitFor(() => heard.includes("C pending"), 5000, "C to wait for its retry");
		const urnA = await connector.create(
			"work",
			{ key: "A", failTimes: 1, delayMs: 150 },
			{ retryCount: 1, retryInterval: 1, retainFor: -1 }
		);
		await waitForStatus(connector, urnA, ["success", "failed"], 5000);
		await waitForStatus(connector, urnC, ["success", "failed"], 5000);
		// One task of the type at a time: no start while another key's run has not ended.
		let running: string | undefined;
		const overlaps: string[] = [];
		for (const event of registry().events) {
			if (event.kind === "start") {
				if (running !== undefined) {
					overlaps.push(`${event.key} started while ${running} ran`);
				}
				running = event.key;
			} else if (event.kind === "end" && running === event.key) {
				running = undefined;
			}
		}
		expect(overlaps).toEqual([]);
	});

	test("a retry() made while the final state-change callback runs is not left for the poll", async () => {
		// The callback of the failed state takes a while (callers write to their own storage there);
		// meanwhile the user retries the failed task. It must run promptly, not at the next poll.
		const { connector, start } = createConnector({ executionMode: "inline", pollInterval: 60_000 });
		let release!: () => void;
		const gate = new Promise<void>(resolve => (release = resolve));
		let inCallback = false;
		await connector.registerHandler("work", HANDLERS, "work", async task => {
			if (task.status === TaskStatus.Failed) {
				inCallback = true;
				await gate;
			}
		});
		await start();
		const urn = await connector.create(
			"work",
			{ key: "late-retry", failTimes: 1 },
			{ retainFor: -1 }
		);
		await waitFor(() => inCallback, 5000, "the failed state's callback");
		await connector.retry(urn);
		release();
		const task = await waitForStatus(connector, urn, ["success"], 2000);
		expect(task.result).toEqual({ key: "late-retry", attempt: 2 });
	});

	test.each([
		["cancel", ["cancelled"]],
		["remove", ["gone"]],
		["retry", ["pending", "success"]]
	] as const)(
		"an ambiguous settle failure (written, then thrown) does not undo a %s made meanwhile",
		async (operation, expected) => {
			const key = `ambiguous-${operation}`;
			const { inner, faulty } = faultyMemory();
			let settleCalls = 0;
			let returned = false;
			faulty.configure({
				failOn: call => {
					if (!isSettleWrite(call, key)) {
						return undefined;
					}
					settleCalls++;
					// The first settle write commits and then throws; the runner's retries fail (nothing
					// written) until the test's operation has returned, then go through.
					return settleCalls === 1 ? "after" : returned ? undefined : "before";
				}
			});
			const { connector, start } = createConnector(
				{ executionMode: "inline", pollInterval: 100, shutdownTimeout: 5000 },
				faulty
			);
			await connector.registerHandler("work", HANDLERS, "work");
			await start();
			// cancel/remove: the first attempt fails with a retry pending (due in 60 s);
			// retry: the first attempt fails for good (no retryCount), retry() gives it another.
			const urn = await connector.create(
				"work",
				{ key, failTimes: 1 },
				operation === "retry"
					? { retainFor: -1 }
					: { retryCount: 1, retryInterval: 60_000, retainFor: -1 }
			);
			await waitFor(() => settleCalls >= 1, 5000, "the ambiguous settle write");
			expect(storedByKey(inner, key)?.status).toBe(
				operation === "retry" ? TaskStatus.Failed : TaskStatus.Pending
			);

			await connector[operation](urn);
			const seen = mark(key, `${operation} returned`);
			returned = true;
			expect(storedByKey(inner, key)?.status ?? "gone").toBe(expected[0]);

			// stop() waits for the run (and its settle retry) to finish.
			await connector.stop("test");
			const final = storedByKey(inner, key)?.status ?? "gone";
			expect({ final, honoured: (expected as readonly string[]).includes(final) }).toEqual({
				final,
				honoured: true
			});
			if (operation !== "retry") {
				const late = registry().events.filter(
					e => e.key === key && e.kind === "start" && e.seq > seen
				);
				expect(late).toEqual([]);
			}
			expect(processErrors).toEqual([]);
		}
	);

	test("a task removed while its claim is being written is not resurrected", async () => {
		const key = "claim-remove";
		const { inner, faulty } = faultyMemory();
		let removal: Promise<void> | undefined;
		const { connector, start } = createConnector(
			{ executionMode: "inline", pollInterval: 100 },
			faulty
		);
		faulty.configure({
			onCall: call => {
				const entity = call.args[0] as BackgroundTask;
				if (
					!removal &&
					call.method === "set" &&
					entity.status === TaskStatus.Processing &&
					(entity.payload as { key?: string }).key === key
				) {
					// Queued on the task's lock while the claim holds it.
					removal = connector.remove(`${URN_PREFIX}${entity.id}`);
				}
			}
		});
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		await connector.create("work", { key, delayMs: 20 }, { retainFor: -1 });
		await waitFor(() => removal !== undefined, 5000, "the claim write");
		await removal;
		const seen = mark(key, "remove returned");
		expect(storedByKey(inner, key)).toBeUndefined();
		// The run that was claimed finishes, and (stop() waits for it to be recorded) writes nothing.
		await waitFor(
			() => registry().events.some(e => e.key === key && e.kind === "end"),
			5000,
			"the run"
		);
		await connector.stop("test");
		expect(storedByKey(inner, key)?.status ?? "gone").toBe("gone");
		expect(
			registry().events.filter(e => e.key === key && e.kind.startsWith("write") && e.seq > seen)
		).toEqual([]);
	});

	test("a retry() of an expired failed task made while the sweep runs is not swept away", async () => {
		const key = "swept";
		const { inner, faulty } = faultyMemory();
		const id = "5e".padEnd(32, "0");
		const past = new Date(Date.now() - 60_000).toISOString();
		await inner.set({
			id,
			type: "work",
			threadId: "main",
			dateCreated: past,
			dateModified: past,
			dateCompleted: past,
			status: TaskStatus.Failed,
			retainFor: 1000,
			retainUntil: Date.now() - 59_000,
			payload: { key },
			error: { name: "PlannedFailure", message: "failed before" }
		});
		const { connector, start } = createConnector(
			{ executionMode: "inline", pollInterval: 100 },
			faulty
		);
		let retried = false;
		faulty.configure({
			// The sweep has read the expired tasks; before it removes them, the user retries this one.
			afterCall: async call => {
				const condition = call.args[0] as { property?: string } | undefined;
				if (!retried && call.method === "query" && condition?.property === "retainUntil") {
					retried = true;
					await connector.retry(`${URN_PREFIX}${id}`);
				}
			}
		});
		await connector.registerHandler("work", HANDLERS, "work");
		await start();
		expect(retried).toBe(true);
		// The retried task is pending (or already running/finished), never lost.
		expect(storedByKey(inner, key)?.status ?? "gone").not.toBe("gone");
		const task = await waitForStatus(connector, `${URN_PREFIX}${id}`, ["success"], 5000);
		expect(task.result).toEqual({ key, attempt: 1 });
	});
});

describe("storage down", () => {
	test("while every call fails the connector backs off, and it recovers fully afterwards", async () => {
		const { inner, faulty } = faultyMemory();
		// Every call fails after 1 ms (a real outage costs at least a round trip).
		faulty.configure({ failRate: 1, latencyMs: 1 });
		const { connector, start } = createConnector(
			{ executionMode: "inline", pollInterval: 100, retryInterval: 10, shutdownTimeout: 2000 },
			faulty
		);
		await connector.registerHandler("work", HANDLERS, "work");
		faulty.enabled = false;
		const urns = await Promise.all(
			Array.from({ length: 20 }, async (_, i) =>
				connector.create("work", { key: `down${i}` }, { retainFor: -1 })
			)
		);
		faulty.enabled = true;
		const before = faulty.totalCalls;
		const t0 = Date.now();
		await start();
		// Observe 250 ms of outage, or stop early once the call count shows a busy loop.
		await waitFor(
			() => Date.now() - t0 > 250 || faulty.totalCalls - before > 200,
			2000,
			"the outage window"
		);
		const callsDuringOutage = faulty.totalCalls - before;
		expect(inner.getStore().every(t => t.status === TaskStatus.Pending)).toBe(true);

		faulty.enabled = false;
		for (const urn of urns) {
			expect((await waitForStatus(connector, urn, ["success", "failed"], 5000)).status).toBe(
				"success"
			);
		}
		expect(processErrors).toEqual([]);
		// Backing off: a poll every 100 ms is 3 scans in 250 ms; allow ten times that.
		expect(callsDuringOutage).toBeLessThan(30);
	});
});

describe("storage rejecting at once", () => {
	test("does not starve the event loop (a 20 ms timer still fires)", async () => {
		const child = spawn(process.execPath, [OUTAGE_CHILD], { stdio: ["ignore", "pipe", "pipe"] });
		let out = "";
		child.stdout.on("data", (chunk: Buffer) => {
			out += chunk.toString();
		});
		const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
		try {
			// Starting a process and importing the package is not what is measured: on a loaded host
			// it alone can take seconds.
			await waitFor(
				() => out.includes('"event":"loaded"') || child.exitCode !== null,
				30000,
				"the child to load the package"
			);
			await waitFor(
				() => out.includes('"event":"timer"') || child.exitCode !== null,
				3000,
				"the child's timer"
			);
			// Once its timer fired the child stops its connector and exits: give it a bounded while.
			await waitFor(() => child.exitCode !== null, 5000, "the child to exit after its timer");
		} catch (err) {
			expect.fail(
				`the event loop of the child was starved (timer never fired): ${String(err)}; output ${out}`
			);
		} finally {
			if (child.exitCode === null) {
				child.kill("SIGKILL");
			}
		}
		expect(await exited).toBe(0);
		const timer = JSON.parse(out.split("\n").find(l => l.includes('"timer"')) as string) as {
			afterMs: number;
		};
		expect(timer.afterMs).toBeLessThan(1000);
	});
});
