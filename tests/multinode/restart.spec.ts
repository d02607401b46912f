// Issue 10, item 6: the server restarted under load (pg_ctl restart -m fast: every connection is
// dropped, the server is down for a moment). Three nodes create and process tasks throughout; a
// create that fails during the outage is tried again by the node (the caller's part). Asserted:
// the nodes reconnect on their own and none crashes, nor does a fourth node making createMany
// calls of 10,001 tasks throughout; nothing is lost (every task whose create returned is stored
// and completes; a key is stored twice only when a create of it failed, since a failed create may
// have committed before the connection dropped; each createMany call is stored whole or not at
// all); no task is left processing; every node stops gracefully and its process ends on its own
// with code 0.
import { performance } from "node:perf_hooks";
import { expect, test } from "vitest";
import { byKey, useMultinode, waitFor, waitForAllFinal, type INode } from "./nodes.js";

// A server of its own: the test restarts it.
const mn = useMultinode("restart", { dedicated: true });

const NAMES = ["A", "B", "C"];
const PER_NODE = 500;
const BULK_MANY = 10_001;
const BULK_CALLS = 6;

test("the server restarted under load: the nodes reconnect, nothing is lost, nothing stays processing, no node crashes", async () => {
	const nodes: INode[] = NAMES.map(name =>
		mn.spawnNode({
			node: name,
			// A connection attempted while the server restarts can get no answer at all: it fails
			// after connectTimeout (measured: in 3 of 11 runs, one create waited the default 10 s).
			postgresql: { connectTimeout: 2 },
			handlers: [{ type: "work", options: { concurrency: 4 } }],
			create: {
				type: "work",
				count: PER_NODE,
				prefix: `${name}-`,
				parallel: 2,
				payload: { ms: 5 },
				options: { retainFor: -1 },
				reportIds: true
			}
		})
	);
	// A fourth node makes createMany calls of 10,001 tasks (two statements in a transaction) into
	// its own table throughout the restart: a lost connection under a transaction crashed the
	// process with postgres.js 3.4.7's ROLLBACK (6 of 7 restarts in a script).
	// (A name that does not contain the main table's: the LISTEN check below matches by it.)
	const bulkTable = mn.table().replace(/^mn_/, "mb_");
	const bulk = mn.spawnNode({
		node: "M",
		postgresql: { connectTimeout: 2, tableName: bulkTable },
		handlers: [{ type: "none" }]
	});
	await bulk.waitForEvent(e => e.event === "ready", 30000, "the bulk node to start");
	bulk.send({
		cmd: "create",
		type: "bulk",
		count: BULK_CALLS * BULK_MANY,
		prefix: "M-",
		many: BULK_MANY,
		options: { retainFor: -1 }
	});
	await bulk.waitForEvent(e => e.event === "createdMany", 30000, "a first createMany call");
	// Restart once a third of the tasks are done, with creates and runs in flight.
	await waitFor(
		async () => ((await mn.statusCounts()).success ?? 0) >= (NAMES.length * PER_NODE) / 3,
		60000,
		"a third of the tasks to complete",
		50
	);
	const t0 = performance.now();
	await mn.server().restart();
	const restartMs = Math.round(performance.now() - t0);
	const during = await mn.statusCounts();
	// Every node LISTENs again on its own (the heartbeat re-establishes the LISTEN connection): the
	// restarted server has one listening session per node.
	await waitFor(
		async () => {
			const [{ n }] = await mn.server().sql.unsafe<{ n: number }[]>(
				`SELECT count(*)::int AS "n" FROM pg_stat_activity
				WHERE "query" LIKE 'LISTEN %' AND position($1 in "query") > 0`,
				[mn.table()]
			);
			return n === NAMES.length;
		},
		10000,
		"every node to LISTEN again",
		50
	);

	const listeningMs = Math.round(performance.now() - t0);
	await Promise.all(
		nodes.map(async n => n.waitForEvent(e => e.event === "createdAll", 60000, "its creates"))
	);
	const createdMs = Math.round(performance.now() - t0);
	// Every create returned in the end.
	for (const node of nodes) {
		expect(node.events.find(e => e.event === "createdAll")?.count).toBe(PER_NODE);
	}
	// Every create has returned: once nothing is pending or processing, nothing changes any more.
	const counts = await waitForAllFinal(mn, 1, 60000, nodes);
	const finalMs = Math.round(performance.now() - t0);
	const rows = await mn.rows();
	const stored = new Map<string, number>();
	for (const row of rows) {
		stored.set(row.k, (stored.get(row.k) ?? 0) + 1);
	}
	const storedIds = new Set(rows.map(r => r.id));
	const perKey = byKey(mn.runs());
	const failedCreates = new Map<string, string[]>();
	for (const node of nodes) {
		for (const e of node.events.filter(x => x.event === "createFailed")) {
			failedCreates.set(String(e.k), [...(failedCreates.get(String(e.k)) ?? []), String(e.error)]);
		}
	}
	// Nothing lost: the id every create returned is stored; a key is stored twice only when a create
	// of it failed (it may have committed before the connection dropped).
	const lost: string[] = [];
	const duplicated: string[] = [];
	for (const node of nodes) {
		for (const e of node.events.filter(x => x.event === "id")) {
			const id = String(e.id).split(":").pop() as string;
			if (!storedIds.has(id)) {
				lost.push(
					`${e.k} (${id}; failed creates of the key: ${JSON.stringify(failedCreates.get(String(e.k)) ?? [])}; ` +
						`runs: ${JSON.stringify(perKey.get(String(e.k)) ?? [])})`
				);
			}
		}
	}
	for (const name of NAMES) {
		for (let i = 0; i < PER_NODE; i++) {
			const key = `${name}-${i}`;
			if ((stored.get(key) ?? 0) > 1 && !failedCreates.has(key)) {
				duplicated.push(key);
			}
		}
	}
	expect(lost).toEqual([]);
	expect(duplicated).toEqual([]);
	expect(counts).toEqual({ success: rows.length });
	expect(rows.filter(r => r.result?.k !== r.k)).toEqual([]);

	// Every createMany call of the bulk node returned in the end, and each call's tasks are stored
	// whole or not at all: the calls that returned once each, a call that failed and was tried
	// again at most twice (its failed attempt may have committed before the connection dropped).
	await bulk.waitForEvent(e => e.event === "createdAll", 60000, "the bulk node's calls");
	const perCall = await mn.server().sql.unsafe<{ call: number; n: number }[]>(
		`SELECT (substring("payload"->>'k' from 3)::int / ${BULK_MANY}) AS "call", count(*)::int AS "n"
			FROM "${bulkTable}" GROUP BY 1 ORDER BY 1`
	);
	const failedCalls = new Set(
		bulk.events.filter(e => e.event === "createManyFailed").map(e => Number(e.from) / BULK_MANY)
	);
	expect(perCall.map(r => r.call)).toEqual(Array.from({ length: BULK_CALLS }, (_, i) => i));
	for (const { call, n } of perCall) {
		expect(failedCalls.has(call) ? [BULK_MANY, 2 * BULK_MANY] : [BULK_MANY]).toContain(n);
	}
	await mn.server().sql.unsafe(`DROP TABLE IF EXISTS "${bulkTable}", "${bulkTable}_rate"`);

	const exits = await Promise.all([...nodes, bulk].map(async n => n.stop()));
	expect(exits).toEqual([...nodes, bulk].map(() => ({ code: 0, signal: null })));
	for (const node of [...nodes, bulk]) {
		expect(node.events.filter(e => e.event === "fatal")).toEqual([]);
	}

	const ranTwice = [...perKey].filter(
		([key, list]) => list.filter(r => r.kind === "start").length > (stored.get(key) ?? 0)
	);
	console.log(
		`[multinode restart] restart took ${restartMs} ms (statuses then ${JSON.stringify(during)}); after it, ` +
			`every node listened again at ${listeningMs} ms, every create had returned at ${createdMs} ms, ` +
			`every task was final at ${finalMs} ms; ` +
			`${failedCreates.size} creates failed during it and were tried again ` +
			`(and ${failedCalls.size} of the bulk node's ${BULK_CALLS} createMany calls) ` +
			`(${rows.length - NAMES.length * PER_NODE} stored twice); ${ranTwice.length} tasks ran more than once; ` +
			`warnings and errors: ${JSON.stringify(
				nodes.map(n => [
					n.name,
					Object.entries(
						n.logs().reduce<{ [m: string]: number }>((acc, e) => {
							const m = String(e.message);
							acc[m] = (acc[m] ?? 0) + 1;
							return acc;
						}, {})
					)
				])
			)}`
	);
}, 120000);
