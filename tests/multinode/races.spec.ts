// Issue 10, item 6: cancel, retry and remove racing with claims on other nodes. Node A creates
// tasks (it does not process); nodes B and C process them with a small local queue, so a backlog
// of pending tasks builds up; meanwhile the test cancels, removes and retries tasks as soon as
// their ids arrive, through a connector of its own on the same table (not started: another node
// serving requests). What is guaranteed, and asserted:
// - cancel acts only while a task is pending, atomically: a task is either cancelled, and then it
//   never starts (no start in the execution log, ever), or it was already claimed, cancel did
//   nothing and it runs once to success;
// - a removed task is never resurrected: no row once everything has run and every node has
//   stopped (its handler may still run once, when it was claimed before the remove: its outcome is
//   not written);
// - retry of a task that is pending, running or done changes nothing (it runs once); retry of a
//   failed task, called three times at once from two processes, runs it exactly once more.
import { expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import { byKey, inFlight, useMultinode, waitFor, waitForAllFinal } from "./nodes.js";

const mn = useMultinode("race");

const TASKS = 1500;
const FAILING = 20;

/**
 * A small deterministic random generator (mulberry32), so a failing run can be repeated.
 * @param seed The seed.
 * @returns The generator, values in [0, 1).
 */
function random(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

test("cancel, retry and remove racing with claims on other nodes", async () => {
	const seed = Date.now() % 100000;
	const rand = random(seed);
	const processors = ["B", "C"].map(name =>
		mn.spawnNode({
			node: name,
			handlers: [{ type: "work", options: { concurrency: 4 } }],
			postgresql: { localQueueSize: 5 }
		})
	);
	await Promise.all(
		processors.map(async n => n.waitForEvent(e => e.event === "ready", 20000, "ready"))
	);
	const creator = mn.spawnNode({
		node: "A",
		start: false,
		handlers: [],
		create: {
			type: "work",
			count: TASKS,
			prefix: "R",
			parallel: 4,
			payload: { ms: 20 },
			options: { retainFor: -1 },
			reportIds: true
		}
	});
	const connector = new EntityStorageBackgroundTaskConnector({
		config: { postgresql: mn.postgresql({ maxConnections: 4 }) }
	});

	const idOf = new Map<string, string>();
	const cancelled = new Map<string, number>();
	const removed = new Map<string, number>();
	const retried = new Map<string, number>();
	const removedRunning = new Set<string>();
	// Each key gets at most one operation, decided when it is issued.
	const chosen = new Set<string>();
	let seen = 0;
	// As ids arrive: a fifth cancelled, a tenth removed, a tenth retried, all at once; and two of
	// the handlers running at that moment removed.
	const act = async (): Promise<void> => {
		const batch = creator.events.slice(seen).filter(e => e.event === "id");
		seen = creator.events.length;
		const ops: Promise<void>[] = [];
		const call = (map: Map<string, number>, key: string, op: () => Promise<void>): void => {
			chosen.add(key);
			ops.push(
				op().then(() => {
					map.set(key, Date.now());
				})
			);
		};
		for (const e of batch) {
			const key = String(e.k);
			const id = String(e.id);
			idOf.set(key, id);
			const r = rand();
			if (r < 0.2) {
				call(cancelled, key, async () => connector.cancel(id));
			} else if (r < 0.3) {
				call(removed, key, async () => connector.remove(id));
			} else if (r < 0.4) {
				call(retried, key, async () => connector.retry(id));
			}
		}
		const runs = mn.runs();
		const running = processors
			.flatMap(n => inFlight(runs, n.process.pid as number))
			.filter(k => !chosen.has(k) && idOf.has(k));
		for (const key of running.slice(0, 2)) {
			removedRunning.add(key);
			call(removed, key, async () => connector.remove(idOf.get(key) as string));
		}
		await Promise.all(ops);
	};
	await waitFor(
		async () => {
			await act();
			return creator.events.some(e => e.event === "createdAll");
		},
		60000,
		"the creates, with their cancels, removes and retries"
	);
	await act();

	// Tasks whose first attempt fails: once failed, retried three times at once, twice from here and
	// once from node A, while B and C claim.
	creator.send({
		cmd: "create",
		type: "work",
		count: FAILING,
		prefix: "F",
		parallel: 4,
		payload: { failFirst: true },
		options: { retainFor: -1 },
		reportIds: true
	});
	const failing = await waitFor(
		() => {
			const ids = creator.events.filter(e => e.event === "id" && String(e.k).startsWith("F"));
			return ids.length === FAILING ? ids.map(e => String(e.id)) : undefined;
		},
		20000,
		"the failing tasks' ids"
	);
	await waitFor(
		async () =>
			(await mn.rows()).filter(r => r.k.startsWith("F") && r.status === "failed").length ===
			FAILING,
		20000,
		"the failing tasks to fail",
		50
	);
	creator.send({ cmd: "op", op: "retry", ids: failing, tag: "failed" });
	await Promise.all(failing.flatMap(id => [connector.retry(id), connector.retry(id)]));
	const opDone = await creator.waitForEvent(e => e.event === "opDone", 20000, "its retries");
	expect(opDone.failed).toEqual([]);

	await waitForAllFinal(mn, 1, 60000, processors);
	const exits = await Promise.all([...processors, creator].map(async n => n.stop()));
	expect(exits).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));

	const rows = await mn.rows();
	const rowOf = new Map(rows.map(r => [r.k, r]));
	const perKey = byKey(mn.runs());
	const startsOf = (key: string): number =>
		(perKey.get(key) ?? []).filter(r => r.kind === "start").length;
	const violations: string[] = [];
	let cancelledNeverRan = 0;
	for (const key of cancelled.keys()) {
		const row = rowOf.get(key);
		if (row?.status === "cancelled") {
			cancelledNeverRan++;
			if (startsOf(key) !== 0) {
				violations.push(`${key}: cancelled, yet started ${startsOf(key)} times`);
			}
			if (!row.dateCancelled || row.result !== null) {
				violations.push(`${key}: cancelled without dateCancelled or with a result`);
			}
		} else if (row?.status !== "success" || startsOf(key) !== 1) {
			violations.push(`${key}: cancel raced with a claim: ${row?.status}, ${startsOf(key)} starts`);
		}
	}
	let removedRan = 0;
	let removedStartedAfter = 0;
	for (const [key, at] of removed) {
		if (rowOf.has(key)) {
			violations.push(`${key}: removed, yet stored as ${rowOf.get(key)?.status}`);
		}
		const starts = (perKey.get(key) ?? []).filter(r => r.kind === "start");
		if (starts.length > 1) {
			violations.push(`${key}: removed, and ran ${starts.length} times`);
		}
		removedRan += starts.length;
		removedStartedAfter += starts.filter(r => r.t > at).length;
	}
	for (const key of idOf.keys()) {
		if (cancelled.has(key) || removed.has(key)) {
			continue;
		}
		const row = rowOf.get(key);
		const starts = startsOf(key);
		const expected = key.startsWith("F") ? 2 : 1;
		if (row?.status !== "success" || starts !== expected) {
			violations.push(
				`${key}: ${row?.status} after ${starts} starts (expected success after ${expected})`
			);
		}
	}
	for (const key of Array.from({ length: FAILING }, (_, i) => `F${i}`)) {
		const kinds = (perKey.get(key) ?? []).map(r => r.kind);
		if (JSON.stringify(kinds) !== JSON.stringify(["start", "fail", "start", "end"])) {
			violations.push(`${key}: runs ${kinds.join(",")}`);
		}
		if (rowOf.get(key)?.status !== "success" || rowOf.get(key)?.result?.k !== key) {
			violations.push(`${key}: ${rowOf.get(key)?.status} after its retry`);
		}
	}
	expect(violations, `seed ${seed}`).toEqual([]);
	expect(rows.length).toBe(TASKS + FAILING - removed.size);
	// Both outcomes of the cancel race happened.
	expect(cancelledNeverRan, `seed ${seed}`).toBeGreaterThan(0);
	expect(removedRunning.size).toBeGreaterThan(0);
	for (const node of [...processors, creator]) {
		expect(node.events.filter(e => e.event === "fatal" || e.event === "createFailed")).toEqual([]);
	}
	console.log(
		`[multinode races] seed ${seed}: ${cancelled.size} cancels (${cancelledNeverRan} cancelled while pending, ` +
			`${cancelled.size - cancelledNeverRan} already claimed and run), ${removed.size} removes ` +
			`(${removedRunning.size} of running tasks; ${removedRan} removed tasks ran, ${removedStartedAfter} of them ` +
			`started after remove returned), ${retried.size} retries of fresh tasks, ${FAILING} failed tasks retried ` +
			`3 times at once; warnings: ${JSON.stringify([...processors, creator].map(n => [n.name, n.logs().map(e => e.message)]))}`
	);
}, 120000);
