// Issue 10, item 6: four node processes on one table of a real server, 20,000 tasks created across
// them while all of them process: none lost, none run twice.
import { performance } from "node:perf_hooks";
import { expect, test } from "vitest";
import { byKey, useMultinode, waitForAllFinal } from "./nodes.js";

const mn = useMultinode("scale");

const NODES = ["A", "B", "C", "D"];
const PER_NODE = 5000;
const TOTAL = NODES.length * PER_NODE;

test("four nodes, 20,000 tasks created across them while all process: none lost, none run twice", async () => {
	const t0 = performance.now();
	const nodes = NODES.map(name =>
		mn.spawnNode({
			node: name,
			handlers: [{ type: "work", options: { concurrency: 8 } }],
			create: {
				type: "work",
				count: PER_NODE,
				prefix: `${name}-`,
				parallel: 4,
				options: { retainFor: -1 }
			}
		})
	);
	const created = await Promise.all(
		nodes.map(async n => n.waitForEvent(e => e.event === "createdAll", 60000, "its creates"))
	);
	const tCreated = performance.now();
	const counts = await waitForAllFinal(mn, TOTAL, 60000, nodes);
	const tDone = performance.now();

	// Every node stops gracefully and its process ends on its own.
	const exits = await Promise.all(nodes.map(async n => n.stop()));
	const rows = await mn.rows();
	const perKey = byKey(mn.runs());
	const ranTwice = [...perKey].filter(
		([, list]) => list.filter(r => r.kind === "start").length > 1
	);
	const ranBy = new Map([...perKey].map(([key, list]) => [key, list[0].node]));
	const perNode = Object.fromEntries(NODES.map(n => [n, 0]));
	let crossed = 0;
	for (const [key, node] of ranBy) {
		perNode[node]++;
		if (!key.startsWith(`${node}-`)) {
			crossed++;
		}
	}
	console.log(
		`[multinode scale] ${TOTAL} tasks on ${NODES.length} nodes: creates done in ${Math.round(tCreated - t0)} ms ` +
			`(${created.map(e => `${e.ms} ms`).join(", ")} per node), all final after ${Math.round(tDone - t0)} ms; ` +
			`ran per node ${JSON.stringify(perNode)}, ${crossed} on a node other than their creator; ` +
			`${ranTwice.length} ran more than once; largest event-loop delay per node ` +
			`${JSON.stringify(nodes.map(n => n.events.find(e => e.event === "stopped")?.maxLoopDelayMs))} ms; ` +
			`warnings and errors: ${JSON.stringify(nodes.map(n => [n.name, n.logs().map(e => `${e.message}${e.error ? `: ${e.error}` : ""}`)]))}`
	);

	expect(counts).toEqual({ success: TOTAL });
	expect(exits).toEqual(nodes.map(() => ({ code: 0, signal: null })));

	// Zero lost: exactly the created keys are stored, each once, each with its own result.
	const expected = NODES.flatMap(name =>
		Array.from({ length: PER_NODE }, (_, i) => `${name}-${i}`)
	);
	expect(rows.length).toBe(TOTAL);
	expect(rows.map(r => r.k).sort()).toEqual([...expected].sort());
	expect(rows.filter(r => r.status !== "success" || r.result?.k !== r.k)).toEqual([]);

	// Zero run twice: one start and one end per key in the execution log, nothing else.
	expect(perKey.size).toBe(TOTAL);
	const notOnce = [...perKey].filter(
		([, list]) =>
			list.length !== 2 ||
			list[0].kind !== "start" ||
			list[1].kind !== "end" ||
			list[0].pid !== list[1].pid
	);
	expect(notOnce).toEqual([]);
	// The stored result names the process that ran the task.
	expect(rows.filter(r => r.result?.node !== ranBy.get(r.k))).toEqual([]);

	// Nothing went wrong on the way: no create failed, no warning or error was logged.
	for (const node of nodes) {
		expect(node.events.filter(e => e.event === "createFailed" || e.event === "fatal")).toEqual([]);
		expect(node.logs()).toEqual([]);
	}
}, 240000);
