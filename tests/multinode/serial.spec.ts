// Issue 10, items 6 and 9: a serial type (registerHandler's fifth argument { serial: true }) on two
// node processes sharing one table: its tasks run one at a time, in order, across both nodes: each
// start comes after the previous run's end. When the node running one is killed, the other node
// runs that task again once its lease has ended, and goes on in order.
import { expect, test } from "vitest";
import {
	inFlight,
	useMultinode,
	waitFor,
	waitForAllFinal,
	type INode,
	type INodeSpec,
	type IRun
} from "./nodes.js";

const mn = useMultinode("serial");

/**
 * The start and end of each run, in the order of starts.
 * @param runs The execution log.
 * @returns The runs, each with its end when it ended.
 */
function runsInOrder(runs: IRun[]): { start: IRun; end?: IRun }[] {
	const out: { start: IRun; end?: IRun }[] = [];
	const open = new Map<string, { start: IRun; end?: IRun }>();
	for (const run of runs) {
		const id = `${run.key} ${run.pid}`;
		if (run.kind === "start") {
			const entry = { start: run };
			out.push(entry);
			open.set(id, entry);
		} else {
			const entry = open.get(id);
			if (entry) {
				entry.end = run;
				open.delete(id);
			}
		}
	}
	return out;
}

test("a serial type on two nodes: strict order, no overlap; the holder killed, the other node goes on after its lease", async () => {
	const spec = (name: string): INodeSpec => ({
		node: name,
		handlers: [{ type: "serial", options: { serial: true } }]
	});
	const nodes = new Map<string, INode>([
		["A", mn.spawnNode(spec("A"))],
		["B", mn.spawnNode(spec("B"))]
	]);
	await Promise.all(
		[...nodes.values()].map(async n => n.waitForEvent(e => e.event === "ready", 20000, "ready"))
	);
	const first = 20;
	const creator = nodes.get("A") as INode;
	creator.send({
		cmd: "create",
		type: "serial",
		count: first,
		prefix: "S",
		parallel: 1,
		gapMs: 2,
		payload: { ms: 25 },
		options: { retainFor: -1 }
	});
	await waitForAllFinal(mn, first, 30000, [...nodes.values()]);

	const phase1 = runsInOrder(mn.runs());
	expect(phase1.map(r => r.start.key)).toEqual(Array.from({ length: first }, (_, i) => `S${i}`));
	const overlaps: string[] = [];
	for (let i = 1; i < phase1.length; i++) {
		const previousEnd = phase1[i - 1].end?.t ?? Number.POSITIVE_INFINITY;
		if (phase1[i].start.t < previousEnd) {
			overlaps.push(
				`${phase1[i].start.key} started on ${phase1[i].start.node} at ${phase1[i].start.t}, before ` +
					`${phase1[i - 1].start.key} (started on ${phase1[i - 1].start.node} at ${phase1[i - 1].start.t}) ` +
					`ended at ${phase1[i - 1].end?.t}`
			);
		}
	}
	expect(overlaps).toEqual([]);
	const byNode = { A: 0, B: 0 } as { [node: string]: number };
	for (const run of phase1) {
		byNode[run.start.node]++;
	}

	// Longer tasks; the node running the second of them is killed.
	const second = 5;
	creator.send({
		cmd: "create",
		type: "serial",
		count: second,
		prefix: "S",
		from: first,
		parallel: 1,
		gapMs: 2,
		payload: { ms: 400 },
		options: { retainFor: -1 }
	});
	await creator.waitForEvent(
		e => e.event === "createdAll" && e.count === second,
		20000,
		"the second batch"
	);
	const victimKey = `S${first + 1}`;
	const victimStart = await waitFor(
		() => mn.runs().find(r => r.key === victimKey && r.kind === "start"),
		20000,
		`${victimKey} to start`
	);
	const victim = nodes.get(victimStart.node) as INode;
	expect(inFlight(mn.runs(), victimStart.pid)).toEqual([victimKey]);
	const killedAt = await victim.kill();
	const [held] = (await mn.rows()).filter(r => r.k === victimKey);
	expect(held.status).toBe("processing");
	expect(held.leaseExpires).toBeGreaterThan(killedAt);
	nodes.delete(victimStart.node);
	const survivor = [...nodes.values()][0];
	await waitForAllFinal(mn, first + second, 30000, [survivor]);
	expect(await survivor.stop()).toEqual({ code: 0, signal: null });

	const phase2 = runsInOrder(mn.runs()).slice(first);
	expect(phase2.map(r => r.start.key)).toEqual([
		`S${first}`,
		victimKey,
		victimKey,
		...Array.from({ length: second - 2 }, (_, i) => `S${first + 2 + i}`)
	]);
	// The killed run has no end; its task ran again on the survivor once the lease had ended; every
	// other start came after the previous run's end.
	expect(phase2[1].end).toBeUndefined();
	expect(phase2[2].start.node).toBe(survivor.name);
	expect(phase2[2].start.t).toBeGreaterThanOrEqual(held.leaseExpires as number);
	for (let i = 1; i < phase2.length; i++) {
		if (i !== 2) {
			expect(phase2[i].start.t).toBeGreaterThanOrEqual(phase2[i - 1].end?.t as number);
		}
	}
	expect(phase2.slice(2).every(r => r.start.node === survivor.name && r.end)).toBe(true);
	const rows = await mn.rows();
	expect(rows.filter(r => r.status !== "success")).toEqual([]);
	console.log(
		`[multinode serial] ${first} tasks in order across two nodes (${JSON.stringify(byNode)}); ` +
			`${victim.name} killed running ${victimKey}; ${survivor.name} ran it again ` +
			`${phase2[2].start.t - (held.leaseExpires as number)} ms after its lease ended (lease ended ` +
			`${(held.leaseExpires as number) - killedAt} ms after the kill)`
	);
}, 90000);
