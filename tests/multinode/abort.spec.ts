// Issue 22, item 4: abort(taskId, reason) across node processes on the native PostgreSQL backend.
// Node A runs the tasks (handlers that honour their context's signal, node-abort-handlers.mjs);
// node B, another process that does not process, creates them and calls abort. The request goes
// through the database: stored on the processing row with a NOTIFY, or, when the notice is lost,
// found by A's next heartbeat. Asserted: A's handler sees the signal with the reason, the task is
// recorded cancelled once and never runs again though it has retries; a task A holds in its local
// queue, not started, never starts; and when the abort races the handler's end (gates opened
// around the abort's arrival on purpose), every task ends cancelled or with its handler's outcome,
// runs once, and none is left processing.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { storageIdOf } from "../helpers/tasks.js";
import {
	byKey,
	useMultinode,
	waitFor,
	type INode,
	type INodeSpec,
	type ITaskRow
} from "./nodes.js";

const mn = useMultinode("abort");

/**
 * The abort handler, as node A registers it.
 * @param concurrency The type's concurrency on A.
 * @returns The handler.
 */
function abortable(concurrency: number): NonNullable<INodeSpec["handlers"]>[number] {
	return {
		type: "abortable",
		method: "abortable",
		module: "./node-abort-handlers.mjs",
		options: { concurrency }
	};
}

/**
 * Start node A (runs the tasks) and node B (creates them and reports their ids; does not
 * process), and wait for both to be ready.
 * @param count How many tasks B creates.
 * @param payload The tasks' payload besides k.
 * @param concurrency The type's concurrency on A.
 * @returns The nodes and the ids by key.
 */
async function startNodes(
	count: number,
	payload: { [key: string]: unknown } = {},
	concurrency = 10
): Promise<{ a: INode; b: INode; ids: Map<string, string> }> {
	const a = mn.spawnNode({ node: "A", handlers: [abortable(concurrency)] });
	await a.waitForEvent(e => e.event === "ready", 20000, "A ready");
	const b = mn.spawnNode({
		node: "B",
		start: false,
		handlers: [],
		create: {
			type: "abortable",
			count,
			prefix: "X",
			payload,
			options: { retryCount: 3, retryInterval: 1, retainFor: -1 },
			reportIds: true
		}
	});
	await b.waitForEvent(e => e.event === "createdAll", 20000, "B's creates");
	const ids = new Map(
		b.events.filter(e => e.event === "id").map(e => [e.k as string, e.id as string])
	);
	return { a, b, ids };
}

/**
 * Wait until every key has started on A.
 * @param keys The keys.
 */
async function waitForStarts(keys: string[]): Promise<void> {
	await waitFor(
		() =>
			keys.every(k =>
				byKey(mn.runs())
					.get(k)
					?.some(r => r.kind === "start")
			),
		20000,
		"every handler to start"
	);
}

/**
 * The rows, by key, once every one is final.
 * @param count How many.
 * @returns The rows.
 */
async function finalRows(count: number): Promise<Map<string, ITaskRow>> {
	const rows = await waitFor(
		async () => {
			const all = await mn.rows();
			return all.length === count &&
				all.every(r => ["cancelled", "success", "failed"].includes(r.status))
				? all
				: undefined;
		},
		20000,
		"every task to be final"
	);
	return new Map(rows.map(r => [r.k, r]));
}

test("node B aborts a task running on node A: A's signal fires with the reason, the task is cancelled once", async () => {
	const { a, b, ids } = await startNodes(1);
	await waitForStarts(["X0"]);
	b.send({ cmd: "op", op: "abort", ids: [ids.get("X0")], tag: "abort", reason: "from B" });
	const done = await b.waitForEvent(e => e.event === "opDone", 20000, "abort to return");
	expect(done.failed).toEqual([]);

	const row = (await finalRows(1)).get("X0") as ITaskRow;
	expect(row.status).toBe("cancelled");
	expect(row.error).toMatchObject({ name: "AbortError", message: "from B" });
	expect(row.dateCancelled).not.toBeNull();
	expect(JSON.parse(readFileSync(join(mn.dir(), "aborted-X0"), "utf8"))).toEqual({
		name: "AbortError",
		message: "from B"
	});

	// Stopped, nothing more happened: one run on A, never retried (three retries were left).
	await a.stop();
	await b.stop();
	expect(
		byKey(mn.runs())
			.get("X0")
			?.map(r => `${r.node} ${r.kind}`)
	).toEqual(["A start", "A fail"]);
	expect((await mn.rows())[0].status).toBe("cancelled");
	expect(a.logs().filter(e => e.level === "error")).toEqual([]);
});

test("an abort whose notice was lost is found by the owner's next heartbeat", async () => {
	const { a, b } = await startNodes(1);
	await waitForStarts(["X0"]);
	// The request as abort() stores it, without its NOTIFY.
	const updated = await mn
		.server()
		.sql.unsafe(
			`UPDATE "${mn.table()}" SET "abortReason" = 'no notice' WHERE "payload"->>'k' = 'X0' AND "status" = 'processing' RETURNING "id"`
		);
	expect(updated).toHaveLength(1);

	const row = (await finalRows(1)).get("X0") as ITaskRow;
	expect(row.status).toBe("cancelled");
	expect(row.error).toMatchObject({ name: "AbortError", message: "no notice" });
	await a.stop();
	await b.stop();
	expect(
		byKey(mn.runs())
			.get("X0")
			?.map(r => r.kind)
	).toEqual(["start", "fail"]);
});

test("a task waiting in A's local queue when B aborts it never starts", async () => {
	// Concurrency 1: X0 runs (held at its gate) while A holds X1 claimed, waiting to start.
	const { a, b, ids } = await startNodes(2, { gate: "gate" }, 1);
	await waitForStarts(["X0"]);
	await waitFor(
		async () => (await mn.rows()).find(r => r.k === "X1" && r.status === "processing"),
		20000,
		"A to claim X1 into its local queue"
	);
	expect(byKey(mn.runs()).get("X1")).toBeUndefined();
	b.send({ cmd: "op", op: "abort", ids: [ids.get("X1")], tag: "waiting", reason: "not wanted" });
	await b.waitForEvent(e => e.event === "opDone", 20000, "abort to return");
	// A keeps the request for X1's run, which begins once X0 ends and records the cancel without
	// calling the handler (not at a later heartbeat, after the handler had started). X0 ends only
	// once A has the request: the notice is read on A's own time.
	await a.waitForEvent(
		e =>
			e.event === "log" &&
			e.message === "abortReceived" &&
			(e.data as { id?: string } | undefined)?.id === storageIdOf(ids.get("X1") as string),
		20000,
		"A to receive the abort of X1"
	);
	writeFileSync(join(mn.dir(), "gate-X0"), "go");

	const rows = await finalRows(2);
	expect(rows.get("X0")?.status).toBe("success");
	expect(rows.get("X1")?.status).toBe("cancelled");
	expect(rows.get("X1")?.error).toMatchObject({ name: "AbortError", message: "not wanted" });
	await a.stop();
	await b.stop();
	// Its handler was never called.
	expect(byKey(mn.runs()).get("X1")).toBeUndefined();
});

test("aborts racing the handlers' ends: each task is recorded once, cancelled or its handler's outcome, never left processing", async () => {
	const COUNT = 10;
	const { a, b, ids } = await startNodes(COUNT, { gate: "gate" });
	const keys = [...ids.keys()];
	await waitForStarts(keys);
	// One abort call per task, all at once from B. Half the gates open as the aborts are sent
	// (the handler usually ends before the abort reaches A); the others as soon as the database
	// holds the task's request, which is when A's notice is on its way: the handler's end and the
	// signal then arrive within milliseconds of each other. (A task already ended by its signal
	// when first seen has had its request cleared with the outcome: its gate no longer matters.)
	const gate = (k: string): void => writeFileSync(join(mn.dir(), `gate-${k}`), "go");
	b.send({ cmd: "op", op: "abort", ids: [...ids.values()], tag: "race", reason: "race" });
	const waiting = new Set(keys.filter((k, i) => i % 2 === 1));
	const late: Promise<void>[] = [];
	for (const k of keys.filter((k, i) => i % 2 === 0)) {
		gate(k);
	}
	await waitFor(
		async () => {
			const requested = await mn
				.server()
				.sql.unsafe<
					{ k: string }[]
				>(`SELECT "payload"->>'k' AS "k" FROM "${mn.table()}" WHERE "abortReason" IS NOT NULL OR "status" <> 'processing'`);
			for (const { k } of requested) {
				if (waiting.delete(k)) {
					// Staggered by 0, 4, 8, ... ms, across the time A takes to act on the notice.
					late.push(
						new Promise<void>(resolve =>
							setTimeout(() => {
								gate(k);
								resolve();
							}, 4 * late.length)
						)
					);
				}
			}
			return waiting.size === 0;
		},
		20000,
		"every abort request to be stored or acted on",
		1
	);
	await Promise.all(late);
	const done = await b.waitForEvent(e => e.event === "opDone", 20000, "aborts to return");
	expect(done.failed).toEqual([]);

	const rows = await finalRows(COUNT);
	await a.stop();
	await b.stop();
	const runs = byKey(mn.runs());
	for (const k of keys) {
		const row = rows.get(k) as ITaskRow;
		const kinds = runs.get(k)?.map(r => r.kind);
		// Ran once; the gate or the signal ended it.
		expect(kinds?.[0]).toBe("start");
		expect(kinds).toHaveLength(2);
		if (row.status === "success") {
			// The handler's outcome, recorded before the abort reached the run.
			expect(kinds?.[1]).toBe("end");
			expect(row.error).toBeNull();
		} else {
			// Cancelled: whether the handler saw the signal (fail) or its gate first (end), the
			// abort reached the run before its outcome was recorded.
			expect(row.status).toBe("cancelled");
			expect(row.error).toMatchObject({ name: "AbortError", message: "race" });
		}
		if (kinds?.[1] === "fail") {
			expect(existsSync(join(mn.dir(), `aborted-${k}`))).toBe(true);
			expect(row.status).toBe("cancelled");
		}
	}
	// What stopping both nodes left: every row as read when all were final.
	const after = new Map((await mn.rows()).map(r => [r.k, r.status]));
	expect(after).toEqual(new Map([...rows].map(([k, r]) => [k, r.status])));
	expect(a.logs().filter(e => e.level === "error")).toEqual([]);
});
