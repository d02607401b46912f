// Issue 10, item 6: leases across node processes on a real server. Nodes SIGKILLed mid-run and
// restarted: every task completes, only the tasks a killed node held run again, and only after
// their lease expired. A node paused past its lease (SIGSTOP, SIGCONT): another node takes the
// task over and completes it, and the paused node's late outcome is not written over it.
//
// What "running at a kill" means here, precisely: claimed by the killed node and not settled. That
// is the tasks whose handler had started and not ended in the killed process, and also those whose
// handler had ended but whose outcome was not written yet (both are still processing under the
// killed node's lease when the table is read right after the kill). The lease of each is read
// then, from the database; the task's next start must come after that lease's end (the database
// clock and the handlers' Date.now() are the same machine's clock).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import {
	NODE_DEFAULTS,
	byKey,
	inFlight,
	useMultinode,
	waitFor,
	waitForAllFinal,
	type INode,
	type INodeSpec,
	type ITaskRow
} from "./nodes.js";

const mn = useMultinode("lease");

/**
 * What a kill left behind.
 */
interface IKill {
	/**
	 * The node's name.
	 */
	name: string;

	/**
	 * The killed process.
	 */
	pid: number;

	/**
	 * When SIGKILL was sent, epoch ms.
	 */
	at: number;

	/**
	 * The keys whose handler had started and not ended in the process.
	 */
	running: string[];

	/**
	 * Its lease owner, as read from the rows of the running tasks.
	 */
	owner: string;

	/**
	 * The rows still processing under its lease right after the kill, by key.
	 */
	held: Map<string, ITaskRow>;
}

test("two of four nodes SIGKILLed mid-run and restarted: every task completes, only tasks running at a kill run again, after their lease", async () => {
	const names = ["A", "B", "C", "D"];
	const perNode = 500;
	const total = names.length * perNode;
	const spec = (name: string, create: boolean): INodeSpec => ({
		node: name,
		handlers: [{ type: "work", options: { concurrency: 4 } }],
		create: create
			? {
					type: "work",
					count: perNode,
					prefix: `${name}-`,
					parallel: 4,
					// Every handler waits for the gate, opened once both kills are done, so that
					// each victim is certainly running handlers when it is killed.
					payload: { ms: 40, gate: "go" },
					options: { retainFor: -1 }
				}
			: undefined
	});
	const live = new Map<string, INode>(names.map(name => [name, mn.spawnNode(spec(name, true))]));
	const kills: IKill[] = [];

	for (const victim of ["A", "B"]) {
		const node = live.get(victim) as INode;
		const pid = node.process.pid as number;
		// Killed once its creates are all in (so the task count is exact) and while handlers run
		// (held at the gate).
		await node.waitForEvent(e => e.event === "createdAll", 60000, "its creates");
		await waitFor(
			() => inFlight(mn.runs(), pid).length > 0,
			20000,
			`a handler running in node ${victim}`
		);
		const at = await node.kill();
		const rows = await mn.rows();
		const running = inFlight(mn.runs(), pid);
		const byK = new Map(rows.map(r => [r.k, r]));
		const owners = new Set(running.map(k => byK.get(k)?.leaseOwner));
		// Every task whose handler was cut off is still processing under one lease, the node's.
		expect(
			running.map(k => ({ k, status: byK.get(k)?.status })),
			`tasks running in ${victim} at its kill`
		).toEqual(running.map(k => ({ k, status: "processing" })));
		expect(owners.size, `lease owners of the tasks running in ${victim}`).toBe(1);
		const owner = [...owners][0] as string;
		const held = new Map(
			rows.filter(r => r.status === "processing" && r.leaseOwner === owner).map(r => [r.k, r])
		);
		// The heartbeat kept the leases in force up to the kill.
		for (const row of held.values()) {
			expect(row.leaseExpires, `lease of ${row.k} at the kill`).toBeGreaterThan(at);
		}
		kills.push({ name: victim, pid, at, running, owner, held });
		// Restarted: a new process (a new lease owner) that only processes.
		const restarted = mn.spawnNode(spec(victim, false));
		live.set(victim, restarted);
		await restarted.waitForEvent(e => e.event === "ready", 20000, "ready");
	}
	writeFileSync(join(mn.dir(), "go"), "");

	const counts = await waitForAllFinal(mn, total, 60000, [...live.values()]);
	expect(counts).toEqual({ success: total });
	const exits = await Promise.all([...live.values()].map(async n => n.stop()));
	expect(exits).toEqual([...live.values()].map(() => ({ code: 0, signal: null })));

	const rows = await mn.rows();
	expect(rows.length).toBe(total);
	const perKey = byKey(mn.runs());
	expect(perKey.size).toBe(total);
	const killOf = new Map(kills.map(k => [k.pid, k]));
	const violations: string[] = [];
	const reran: { key: string; afterLeaseMs: number; handlerHadEnded: boolean }[] = [];
	for (const row of rows) {
		const list = perKey.get(row.k) ?? [];
		const starts = list.filter(r => r.kind === "start");
		const last = starts[starts.length - 1];
		// The last run ended in its process, and its outcome is the stored one.
		if (!list.some(r => r.kind === "end" && r.pid === last?.pid && r.t >= last.t)) {
			violations.push(`${row.k}: its last run did not end`);
		}
		if (row.result?.pid !== last?.pid) {
			violations.push(`${row.k}: result from pid ${row.result?.pid}, last run in ${last?.pid}`);
		}
		// Every earlier run was in a killed process that held the task at its kill, and the next
		// run started after that lease's end.
		for (let i = 0; i < starts.length - 1; i++) {
			const kill = killOf.get(starts[i].pid);
			const heldRow = kill?.held.get(row.k);
			if (!kill || !heldRow) {
				violations.push(
					`${row.k}: ran again after a run in ${starts[i].node}/${starts[i].pid}, which was not killed holding it`
				);
				continue;
			}
			const afterLeaseMs = starts[i + 1].t - (heldRow.leaseExpires ?? Number.POSITIVE_INFINITY);
			if (afterLeaseMs < 0) {
				violations.push(`${row.k}: ran again ${-afterLeaseMs} ms before its lease ended`);
			}
			reran.push({
				key: row.k,
				afterLeaseMs,
				handlerHadEnded: list.some(r => r.pid === starts[i].pid && r.kind === "end")
			});
		}
	}
	// Every task cut off by a kill ran again (it completed, and only a new run completes it).
	for (const kill of kills) {
		for (const key of kill.running) {
			if ((perKey.get(key) ?? []).filter(r => r.kind === "start").length < 2) {
				violations.push(`${key}: cut off by the kill of ${kill.name} and not run again`);
			}
		}
	}
	expect(violations).toEqual([]);

	for (const node of live.values()) {
		expect(node.events.filter(e => e.event === "fatal" || e.event === "createFailed")).toEqual([]);
	}
	console.log(
		`[multinode leases] kills: ${kills
			.map(
				k =>
					`${k.name} (${k.running.length} handlers running, ${k.held.size} tasks held; leases ended ` +
					`${Math.min(...[...k.held.values()].map(r => (r.leaseExpires ?? 0) - k.at))}-` +
					`${Math.max(...[...k.held.values()].map(r => (r.leaseExpires ?? 0) - k.at))} ms after the kill)`
			)
			.join(
				", "
			)}; ${reran.length} runs again (${reran.filter(r => r.handlerHadEnded).length} whose handler ` +
			`had ended, outcome unwritten), started ${Math.min(...reran.map(r => r.afterLeaseMs))}-` +
			`${Math.max(...reran.map(r => r.afterLeaseMs))} ms after their lease ended; warnings: ${JSON.stringify(
				[...live.values()].map(n => [n.name, n.logs().map(e => e.message)])
			)}`
	);
}, 120000);

test("a node paused past its lease (SIGSTOP, SIGCONT): another node completes the task, and the late outcome is not written over it", async () => {
	const leaseTimeout = NODE_DEFAULTS.leaseTimeout;
	// The paused node's handler sleeps 2.5 s (its timer fires late, after SIGCONT); the other
	// node's run of the same task is immediate.
	const paused = mn.spawnNode({
		node: "P",
		create: {
			type: "work",
			count: 1,
			prefix: "T",
			payload: { slow: { P: 2500 } },
			options: { retainFor: -1 },
			reportIds: true
		}
	});
	const created = await paused.waitForEvent(e => e.event === "id", 20000, "the task's id");
	const storageId = String(created.id).split(":").pop() as string;
	const pid = paused.process.pid as number;
	const started = await waitFor(
		() => mn.runs().find(r => r.key === "T0" && r.kind === "start"),
		20000,
		"the paused node to start the task"
	);
	expect(started.pid).toBe(pid);

	paused.process.kill("SIGSTOP");
	const stoppedAt = Date.now();
	const [atPause] = (await mn.rows()).filter(r => r.k === "T0");
	expect(atPause.status).toBe("processing");
	expect(atPause.leaseExpires).toBeGreaterThan(stoppedAt);

	const other = mn.spawnNode({ node: "N" });
	const takenOver = await waitFor(
		async () => {
			const [row] = (await mn.rows()).filter(r => r.k === "T0");
			return row?.status === "success" ? row : undefined;
		},
		20000,
		"the other node to complete the task",
		50
	);
	const otherRun = mn.runs().find(r => r.key === "T0" && r.kind === "start" && r.node === "N");
	expect(takenOver.result).toEqual({ k: "T0", node: "N", pid: other.process.pid });
	// Taken over only once the lease the paused node held had ended.
	expect(otherRun?.t).toBeGreaterThanOrEqual(atPause.leaseExpires as number);
	// Still paused past its lease's end (the lease may end less than leaseTimeout after the pause:
	// it runs from the last heartbeat before it).
	const pausedFor = Date.now() - stoppedAt;
	expect(Date.now()).toBeGreaterThan(atPause.leaseExpires as number);

	const resumedAt = Date.now();
	paused.process.kill("SIGCONT");
	// The paused node's handler finishes, it learns that it lost the lease, and its outcome is
	// dropped: the stored task stays the other node's, field for field.
	const pausedEnd = await waitFor(
		() => mn.runs().find(r => r.key === "T0" && r.kind === "end" && r.pid === pid),
		20000,
		"the paused node's handler to end"
	);
	const lost = await paused.waitForEvent(
		e => e.event === "log" && e.message === "leaseLost",
		20000,
		"its leaseLost warning"
	);
	expect(lost.data).toEqual({ id: storageId, type: "work" });
	// stop() waits for the paused node's settle, so its write (if any) is in by the time it exits.
	expect(await paused.stop()).toEqual({ code: 0, signal: null });
	expect(await other.stop()).toEqual({ code: 0, signal: null });
	const [after] = (await mn.rows()).filter(r => r.k === "T0");
	expect(after).toEqual(takenOver);
	expect(paused.logs().map(e => e.message)).toEqual(["leaseLost"]);
	expect(other.logs()).toEqual([]);
	console.log(
		`[multinode leases] paused ${pausedFor} ms (lease ${leaseTimeout} ms): taken over ` +
			`${(otherRun?.t ?? 0) - (atPause.leaseExpires ?? 0)} ms after the lease ended; the paused node's ` +
			`handler ended ${pausedEnd.t - resumedAt} ms after SIGCONT`
	);
}, 60000);
