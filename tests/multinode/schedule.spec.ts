// Issue 22, item 1: a recurring task on the native backend fires each slot exactly once across
// nodes, whichever nodes are up and whatever their clocks say. Four node processes declare the
// same schedule (every 250 ms, catchUp "all") at their start: one runs its clock 3 s ahead (it
// would fire every slot early if its own clock decided), one 2 s behind; one is SIGKILLed
// mid-run and started again, declaring the schedule again. Asserted from the table: one task per
// slot (no id and no slot twice), the slots consecutive from the first with no gap (catchUp "all"
// allows none), and no task created before its slot on the database's clock.
import { expect, test } from "vitest";
import { useMultinode, waitFor, type INode, type INodeSpec } from "./nodes.js";

const mn = useMultinode("schedule");

const EVERY = 250;

/**
 * A node declaring the schedule.
 * @param node The node's name.
 * @param clockSkewMs How far its clock is off.
 * @returns The spec.
 */
function scheduling(node: string, clockSkewMs?: number): INodeSpec {
	return {
		node,
		clockSkewMs,
		handlers: [{ type: "tick" }],
		schedules: [
			{
				name: "tick",
				options: {
					type: "tick",
					payload: { k: "tick" },
					every: EVERY,
					catchUp: "all",
					options: { retainFor: -1 }
				}
			}
		]
	};
}

/**
 * The tasks of the schedule, by slot, with when the database stored each.
 * @returns The rows.
 */
async function slotRows(): Promise<{ id: string; slot: number }[]> {
	const rows = await mn
		.server()
		.sql.unsafe<
			{ id: string; dateCreated: string }[]
		>(`SELECT "id", "dateCreated" FROM "${mn.table()}" WHERE "type" = 'tick'`);
	return rows
		.map(r => ({ id: r.id, slot: Date.parse(r.dateCreated) }))
		.sort((a, b) => a.slot - b.slot);
}

/**
 * Wait until the schedule has created this many more tasks.
 * @param more How many.
 * @param what What is waited for.
 */
async function slotsGrow(more: number, what: string): Promise<void> {
	const from = (await slotRows()).length;
	await waitFor(async () => (await slotRows()).length >= from + more, 20000, what, 50);
}

test("four nodes, one clock 3 s ahead, one 2 s behind, one killed and restarted: each slot creates exactly one task, none missing", async () => {
	const ready = async (node: INode): Promise<void> => {
		await node.waitForEvent(e => e.event === "scheduled", 30000, `${node.name} to schedule`);
	};
	const nodes = [
		mn.spawnNode(scheduling("A")),
		mn.spawnNode(scheduling("B")),
		mn.spawnNode(scheduling("C", -2000)),
		mn.spawnNode(scheduling("D", 3000))
	];
	await Promise.all(nodes.map(ready));
	await slotsGrow(6, "six slots with every node up");
	await nodes[0].kill();
	await slotsGrow(4, "four slots with A killed");
	const restarted = mn.spawnNode(scheduling("A"));
	await ready(restarted);
	await slotsGrow(6, "six slots after A's restart");
	await Promise.all([...nodes.slice(1), restarted].map(async node => node.stop()));
	// Every node stopped: no slot after the database's clock now fired (D's clock alone would have
	// fired twelve slots ahead of time).
	const [{ now }] = await mn.server().sql.unsafe<{ now: Date }[]>(`SELECT now() AS "now"`);

	const rows = await slotRows();
	const slots = rows.map(r => r.slot);
	expect(new Set(rows.map(r => r.id)).size).toBe(rows.length);
	expect(new Set(slots).size).toBe(slots.length);
	expect(slots.map((slot, i) => slot - slots[0] - i * EVERY)).toEqual(slots.map(() => 0));
	expect(slots.length).toBeGreaterThanOrEqual(16);
	expect(slots[slots.length - 1]).toBeLessThanOrEqual(now.getTime());
	// The stored schedule is where its last task left it: one period after the last slot.
	const [stored] = await mn
		.server()
		.sql.unsafe<
			{ nextSlot: Date; lastSlot: Date }[]
		>(`SELECT "nextSlot", "lastSlot" FROM "${mn.table()}_schedules" WHERE "name" = 'tick'`);
	expect(stored.lastSlot.getTime()).toBe(slots[slots.length - 1]);
	expect(stored.nextSlot.getTime()).toBe(stored.lastSlot.getTime() + EVERY);
}, 120000);
