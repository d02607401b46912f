// Property-based tests (issue 6, item 4) with fast-check: random interleavings of create, cancel,
// retry, remove, get and query, with handlers that succeed, fail, fail their first attempts, or hang
// (ended by the task timeout), checked against a small model of the task state machine.
//
// Reproducibility: the run is seeded (SEED below). When a property fails, fast-check prints the
// seed and the path of the smallest counterexample; put them in PARAMETERS (seed, path) to replay
// exactly that scenario. Timing is real (handlers, retries and timeouts run on real timers), so a
// replay reproduces the scenario, and races in it with high but not total likelihood.
//
// Observation: every committed storage write (through FaultyStorage, adding 0-3 ms of latency and
// no faults), every
// state-change callback, every handler start and every operation are put in one total order (the
// in-process registry of reliability-handlers.mjs; handlers run inline).
//
// The model, per task:
// - storage writes follow the state machine: created pending; pending -> processing (claim),
//   cancelled (cancel) or pending (retry now); processing -> pending (retry later), success or
//   failed; failed -> pending (retry); success and cancelled are final; nothing after a removal;
// - callbacks: processing, then pending/success/failed; pending -> processing; failed -> processing
//   only after a retry() call; success is last; one handler start per processing callback;
// - attempts: at most 1 + retryCount + retry() calls; exactly as the handler mode predicts when no
//   operation touched the task; a retried attempt starts no sooner than dateModified + interval;
// - retain: -1 kept with no retain date, 0 removed when final, n kept with retain date
//   dateModified + n; the state-change callback gets the stored task (as the original), whose
//   retainUntil is -1 or dateModified + n and whose retainFor is then removed (kept as 0 when it
//   is 0); results equal what the handler returned;
// - no start after a cancel returned with the task cancelled; no write after a remove returned;
//   get/query show only what storage holds, with the filters and a cursor that round-trips.
import { TaskStatus, type IBackgroundTask } from "@twin.org/background-task-models";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { FaultyStorage } from "../helpers/faultyStorage.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";

const HANDLERS = new URL("../fixtures/reliability-handlers.mjs", import.meta.url).href;

/**
 * The fast-check parameters: a fixed seed for reproducible runs, a modest number of runs (about
 * 0.3 s each) and a time limit so that shrinking a failure stays bounded.
 */
const SEED = 6_2026;
const PARAMETERS: fc.Parameters<[ITaskSpec, IStep[]]> = {
	seed: SEED,
	numRuns: 120,
	interruptAfterTimeLimit: 40_000
};

const CONFIG_RETRY_INTERVAL = 15;
const TASK_TIMEOUT = 40;
const RETAIN_MS = 60_000;
const TYPES = ["a", "b"] as const;

type Mode = "succeed" | "fail" | "flaky" | "hang";

interface ITaskSpec {
	type: (typeof TYPES)[number];
	mode: Mode;
	failTimes: number;
	retryCount?: number;
	retryInterval?: number;
	retainFor: number;
	value: unknown;
}

type IStep =
	| { kind: "create"; spec: ITaskSpec }
	| {
			kind: "cancel" | "retry" | "remove" | "get" | "query";
			target: number;
			delayMs: number;
			status?: TaskStatus;
			pageSize: number;
	  };

const taskSpecArb: fc.Arbitrary<ITaskSpec> = fc.record(
	{
		type: fc.constantFrom(...TYPES),
		mode: fc.constantFrom<Mode>("succeed", "fail", "flaky", "hang"),
		failTimes: fc.integer({ min: 1, max: 2 }),
		retryCount: fc.integer({ min: 1, max: 2 }),
		retryInterval: fc.integer({ min: 1, max: 30 }),
		retainFor: fc.constantFrom(-1, 0, RETAIN_MS),
		value: fc.jsonValue({ maxDepth: 2 })
	},
	{ requiredKeys: ["type", "mode", "failTimes", "retainFor", "value"] }
);

const stepArb: fc.Arbitrary<IStep> = fc.oneof(
	{ weight: 2, arbitrary: taskSpecArb.map(spec => ({ kind: "create" as const, spec })) },
	{
		weight: 3,
		arbitrary: fc.record({
			kind: fc.constantFrom(
				"cancel" as const,
				"retry" as const,
				"remove" as const,
				"get" as const,
				"query" as const
			),
			target: fc.nat({ max: 20 }),
			delayMs: fc.integer({ min: 0, max: 25 }),
			status: fc.option(fc.constantFrom(...Object.values(TaskStatus)), { nil: undefined }),
			pageSize: fc.integer({ min: 1, max: 3 })
		})
	}
);

interface IRegistryEvent {
	seq: number;
	key: string;
	kind: string;
	at: number;
	task?: IBackgroundTask;
}

interface IRegistry {
	seq: number;
	events: IRegistryEvent[];
	attempts: Map<string, number>;
}

/**
 * A fresh in-process registry (the handlers append their starts to it).
 * @returns The registry.
 */
function resetRegistry(): IRegistry {
	const holder = globalThis as unknown as { __reliability?: IRegistry };
	holder.__reliability = { seq: 0, events: [], attempts: new Map() };
	return holder.__reliability;
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

/**
 * The legal successors of each written status (a removal may follow any of them).
 */
const LEGAL_WRITES: { [status: string]: string[] } = {
	start: [TaskStatus.Pending],
	[TaskStatus.Pending]: [TaskStatus.Processing, TaskStatus.Cancelled, TaskStatus.Pending],
	[TaskStatus.Processing]: [TaskStatus.Pending, TaskStatus.Success, TaskStatus.Failed],
	[TaskStatus.Failed]: [TaskStatus.Pending],
	[TaskStatus.Success]: [],
	[TaskStatus.Cancelled]: []
};

/**
 * The legal successors of each status heard by the state-change callback.
 */
const LEGAL_CALLBACKS: { [status: string]: string[] } = {
	start: [TaskStatus.Processing],
	[TaskStatus.Processing]: [TaskStatus.Pending, TaskStatus.Success, TaskStatus.Failed],
	[TaskStatus.Pending]: [TaskStatus.Processing],
	[TaskStatus.Failed]: [TaskStatus.Processing],
	[TaskStatus.Success]: []
};

/**
 * Run one scenario and check it against the model; throws (fails the property) on a violation.
 * @param first The first task (a scenario creates at least one).
 * @param steps The steps after it.
 */
async function runScenario(first: ITaskSpec, steps: IStep[]): Promise<void> {
	const reg = resetRegistry();
	const mark = (key: string, kind: string, task?: IBackgroundTask): number => {
		reg.events.push({ seq: ++reg.seq, key, kind, at: Date.now(), task });
		return reg.seq;
	};
	const inner = new MemoryEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask"
	});
	const keyById = new Map<string, string>();
	const observed = new FaultyStorage<BackgroundTask>(inner, {
		// Latency only (no faults): 0-3 ms per storage call, so claims, settles and operations overlap.
		latencyMs: [0, 3],
		afterCall: call => {
			if (call.method === "set") {
				const entity = call.args[0] as BackgroundTask;
				mark((entity.payload as { key: string }).key, `write ${entity.status}`);
			} else if (call.method === "remove" && keyById.has(call.args[0] as string)) {
				mark(keyById.get(call.args[0] as string) as string, "write removed");
			}
		}
	});
	const { connector } = createConnector(
		{
			executionMode: "inline",
			concurrency: 2,
			taskTimeout: TASK_TIMEOUT,
			retryInterval: CONFIG_RETRY_INTERVAL,
			// Every wake-up must come from the scheduler itself: the poll would hide a lost one.
			pollInterval: 600_000,
			shutdownTimeout: 1000
		},
		observed
	);
	const callback = async (task: IBackgroundTask): Promise<void> => {
		mark((task.payload as { key: string }).key, `cb ${task.status}`, task);
	};
	for (const type of TYPES) {
		await connector.registerHandler(type, HANDLERS, "prop", callback);
	}
	await connector.start("prop");

	const created: { key: string; urn: string; spec: ITaskSpec }[] = [];
	try {
		for (const step of [{ kind: "create" as const, spec: first }, ...steps]) {
			if (step.kind === "create") {
				const key = `p${created.length}`;
				const { spec } = step;
				const urn = await connector.create(
					spec.type,
					{ key, mode: spec.mode, failTimes: spec.failTimes, value: spec.value },
					{
						retryCount: spec.retryCount,
						retryInterval: spec.retryInterval,
						retainFor: spec.retainFor
					}
				);
				keyById.set(urn.split(":").at(-1) as string, key);
				created.push({ key, urn, spec });
				continue;
			}
			if (step.delayMs > 0) {
				await new Promise(resolve => setTimeout(resolve, step.delayMs));
			}
			const target = created[step.target % created.length];
			mark(target.key, `${step.kind} called`);
			if (step.kind === "cancel") {
				await connector.cancel(target.urn);
				const now = inner.getStore().find(t => t.id === target.urn.split(":").at(-1));
				mark(
					target.key,
					now?.status === TaskStatus.Cancelled ? "cancel returned, cancelled" : "cancel returned"
				);
			} else if (step.kind === "retry") {
				await connector.retry(target.urn);
				mark(target.key, "retry returned");
			} else if (step.kind === "remove") {
				await connector.remove(target.urn);
				mark(target.key, "remove returned");
				expect(await connector.get(target.urn)).toBeUndefined();
			} else if (step.kind === "get") {
				const task = await connector.get(target.urn);
				mark(target.key, `get ${task?.status ?? "gone"}`, task);
				if (task) {
					expect(task.payload).toEqual({
						key: target.key,
						mode: target.spec.mode,
						failTimes: target.spec.failTimes,
						value: JSON.parse(JSON.stringify(target.spec.value))
					});
				}
			} else {
				const page = await connector.query(
					target.spec.type,
					step.status,
					undefined,
					undefined,
					undefined,
					step.pageSize
				);
				expect(page.entities.length).toBeLessThanOrEqual(step.pageSize);
				for (const task of page.entities) {
					expect(task.type).toBe(target.spec.type);
					if (step.status) {
						expect(task.status).toBe(step.status);
					}
				}
			}
		}

		// Quiescence: every task final or gone, without any poll to rescue a lost wake-up.
		await waitFor(
			async () => {
				for (const { urn } of created) {
					const task = await connector.get(urn);
					if (task && !isFinal(task.status)) {
						return false;
					}
				}
				return true;
			},
			5000,
			"every task to be final or removed (a task stuck pending or processing)"
		);

		// Paging with a cursor returns exactly what storage holds.
		const seen: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await connector.query(undefined, undefined, undefined, undefined, cursor, 2);
			seen.push(...page.entities.map(t => t.id));
			cursor = page.cursor;
		} while (cursor);
		// query gives the plain storage ids, as the original.
		expect(seen.sort()).toEqual(
			inner
				.getStore()
				.map(t => t.id)
				.sort()
		);

		for (const item of created) {
			await checkTask(
				item,
				reg.events.filter(e => e.key === item.key),
				await connector.get(item.urn)
			);
		}

		// Per-type concurrency (2): tasks between their "processing" callback and the callback of
		// their outcome (or their removal) never number more than 2 of one type.
		const typeOf = new Map(created.map(c => [c.key, c.spec.type]));
		const running = new Map<string, Set<string>>(TYPES.map(t => [t, new Set<string>()]));
		for (const event of reg.events) {
			const slots = running.get(typeOf.get(event.key) as string) as Set<string>;
			if (event.kind === "cb processing") {
				slots.add(event.key);
				if (slots.size > 2) {
					throw new Error(
						`concurrency 2 exceeded by type ${typeOf.get(event.key)}: ${[...slots].join(", ")}`
					);
				}
			} else if (
				/^cb (pending|success|failed)$/.test(event.kind) ||
				event.kind === "remove returned"
			) {
				// A task removed while it runs hears no outcome: its slot is counted free from the
				// removal on (earlier than it really is, so this check can only under-count).
				slots.delete(event.key);
			}
		}
	} finally {
		await connector.stop("prop");
	}
}

/**
 * Check one task's history against the model.
 * @param item The task as created.
 * @param item.key The key.
 * @param item.spec The spec.
 * @param events Its events in order.
 * @param final The task at the end, undefined when gone.
 */
async function checkTask(
	item: { key: string; spec: ITaskSpec },
	events: IRegistryEvent[],
	final: IBackgroundTask | undefined
): Promise<void> {
	const { key, spec } = item;
	const history = events.map(e => e.kind).join(" | ");
	const fail = (what: string): never => {
		throw new Error(`${key} (${JSON.stringify(spec)}): ${what}\n  history: ${history}`);
	};
	const retryCalls = events.filter(e => e.kind === "retry called");
	const touched = events.some(e => /^(cancel|retry|remove) called$/.test(e.kind));
	const starts = events.filter(e => e.kind === "start");

	// Storage writes follow the state machine; nothing is written after a removal.
	let status = "start";
	for (const event of events.filter(e => e.kind.startsWith("write "))) {
		const next = event.kind.slice("write ".length);
		if (status === "removed" && next !== "removed") {
			fail(`written (${next}) after it was removed`);
		}
		if (next !== "removed" && !LEGAL_WRITES[status].includes(next)) {
			fail(`illegal stored transition ${status} -> ${next}`);
		}
		status = next;
	}
	const removeReturned = events.find(e => e.kind === "remove returned");
	if (
		removeReturned &&
		events.some(
			e => e.kind.startsWith("write ") && e.kind !== "write removed" && e.seq > removeReturned.seq
		)
	) {
		fail("written after remove() returned (resurrected)");
	}

	// Callbacks follow the state machine; failed -> processing only after a retry() call.
	let heard = "start";
	for (const event of events.filter(e => e.kind.startsWith("cb "))) {
		const next = event.kind.slice("cb ".length);
		if (!LEGAL_CALLBACKS[heard]?.includes(next)) {
			fail(`illegal callback transition ${heard} -> ${next}`);
		}
		if (heard === TaskStatus.Failed && !retryCalls.some(r => r.seq < event.seq)) {
			fail("ran again after failed without a retry() call");
		}
		heard = next;
	}
	const claims = events.filter(e => e.kind === "cb processing").length;
	if (claims !== starts.length) {
		fail(`${claims} claims but ${starts.length} handler starts`);
	}

	// Attempts.
	const maxStarts = 1 + (spec.retryCount ?? 0) + retryCalls.length;
	if (starts.length > maxStarts) {
		fail(`${starts.length} starts, at most ${maxStarts} allowed`);
	}
	const cancelled = events.find(e => e.kind === "cancel returned, cancelled");
	if (cancelled && starts.some(s => s.seq > cancelled.seq)) {
		fail("started after cancel() returned with the task cancelled");
	}
	const lastCallback = events.filter(e => e.kind.startsWith("cb ")).at(-1);
	if (!touched) {
		const retries = spec.retryCount ?? 0;
		const expected =
			spec.mode === "succeed"
				? { starts: 1, status: TaskStatus.Success }
				: spec.mode === "flaky" && retries >= spec.failTimes
					? { starts: spec.failTimes + 1, status: TaskStatus.Success }
					: { starts: 1 + retries, status: TaskStatus.Failed };
		const actual = { starts: starts.length, status: lastCallback?.task?.status };
		if (actual.starts !== expected.starts || actual.status !== expected.status) {
			fail(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
		}
		if (expected.status === TaskStatus.Failed) {
			const name = lastCallback?.task?.error?.name;
			const wanted = spec.mode === "hang" ? "TimeoutError" : "PlannedFailure";
			if (name !== wanted) {
				fail(`failed with ${name}, expected ${wanted}`);
			}
		}
	}

	// Retry intervals: after a "pending" callback, the next start waits for dateModified + interval,
	// unless retry() was called meanwhile.
	for (const pending of events.filter(e => e.kind === "cb pending")) {
		const nextStart = starts.find(s => s.seq > pending.seq);
		const previousStart = starts.filter(s => s.seq < pending.seq).at(-1);
		const retried = retryCalls.some(
			r => r.seq > (previousStart?.seq ?? 0) && (!nextStart || r.seq < nextStart.seq)
		);
		if (nextStart && !retried && pending.task) {
			const due =
				Date.parse(pending.task.dateModified as string) +
				(spec.retryInterval ?? CONFIG_RETRY_INTERVAL);
			if (nextStart.at < due) {
				fail(`retry started at ${nextStart.at}, ${due - nextStart.at} ms before it was due`);
			}
		}
	}

	// Retain rules and results, on every final state heard (the stored task, as the callback gets
	// it) and on the task at the end (as get() maps it).
	for (const event of events.filter(
		e => e.kind.startsWith("cb ") && e.task && isFinal(e.task.status)
	)) {
		checkFinal(event.task as IBackgroundTask, spec, key, starts.length, fail, "stored");
	}
	const removed = removeReturned !== undefined;
	if (final) {
		if (removed) {
			fail("still stored after remove()");
		}
		if (spec.retainFor === 0) {
			fail(`still stored (${final.status}) with retainFor 0`);
		}
		checkFinal(final, spec, key, starts.length, fail, "model");
	} else if (!removed && spec.retainFor !== 0) {
		fail(`lost: gone at the end with retainFor ${spec.retainFor} and no remove()`);
	}
}

/**
 * Check a final task's retain date and result.
 * @param task The task.
 * @param spec Its spec.
 * @param key Its key.
 * @param starts How many times its handler started.
 * @param fail Reports a violation.
 * @param form "stored": the stored task the state-change callback gets (retainUntil, retainFor);
 * "model": the task as get() maps it (dateRetainUntil).
 */
function checkFinal(
	task: IBackgroundTask,
	spec: ITaskSpec,
	key: string,
	starts: number,
	fail: (what: string) => never,
	form: "stored" | "model"
): void {
	if (form === "stored") {
		const entity = task as unknown as BackgroundTask;
		if ("dateRetainUntil" in entity) {
			fail(`the callback got the mapped task, not the stored one (${task.status})`);
		}
		const expectedUntil =
			spec.retainFor > 0
				? Date.parse(entity.dateModified) + spec.retainFor
				: spec.retainFor === -1
					? -1
					: undefined;
		if (entity.retainUntil !== expectedUntil) {
			fail(`retainUntil ${entity.retainUntil}, expected ${expectedUntil} (${task.status})`);
		}
		const expectedFor = spec.retainFor === 0 ? 0 : undefined;
		if (entity.retainFor !== expectedFor) {
			fail(`retainFor ${entity.retainFor} in the final state, expected ${expectedFor}`);
		}
	} else {
		const expectedRetain =
			spec.retainFor > 0
				? new Date(Date.parse(task.dateModified as string) + spec.retainFor).toISOString()
				: undefined;
		if (task.dateRetainUntil !== expectedRetain) {
			fail(`retain date ${task.dateRetainUntil}, expected ${expectedRetain} (${task.status})`);
		}
	}
	if (task.status === TaskStatus.Success) {
		const expected = JSON.stringify({
			key,
			attempt: starts,
			value: JSON.parse(JSON.stringify(spec.value))
		});
		if (JSON.stringify(task.result) !== expected) {
			fail(`result ${JSON.stringify(task.result)}, expected ${expected}`);
		}
		if (task.error !== undefined || task.retriesRemaining !== undefined) {
			fail("success still carries error or retriesRemaining");
		}
	}
	if (task.status === TaskStatus.Failed && task.error === undefined) {
		fail("failed without an error");
	}
}

describe("property: random interleavings against the model", () => {
	// The first call of a handler imports its module, inside the attempt's TASK_TIMEOUT; under load
	// that import alone can outlast it, so the attempt times out before its handler starts. One
	// task run to the end first leaves the module loaded (once per process), as it is in every
	// scenario after the first, so each claimed attempt's handler starts at once.
	beforeAll(async () => {
		const { connector, start } = createConnector({ executionMode: "inline" });
		await connector.registerHandler(TYPES[0], HANDLERS, "prop");
		await start();
		try {
			const urn = await connector.create(
				TYPES[0],
				{ key: "warm-up", mode: "succeed" },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, urn, [TaskStatus.Success]);
		} finally {
			await connector.stop("prop");
		}
	});

	test("create/cancel/retry/remove/get/query with succeeding, failing, flaky and hanging handlers", async () => {
		await fc.assert(
			fc.asyncProperty(taskSpecArb, fc.array(stepArb, { maxLength: 12 }), async (first, steps) => {
				await runScenario(first, steps);
			}),
			PARAMETERS
		);
	}, 90_000);
});
