// SettleBatch without a server: when a batch goes out, and what it holds.
import { describe, expect, test } from "vitest";
import type { ISettleEntry } from "../src/store/postgresql/ISettleEntry.js";
import { SettleBatch, type ISettleWaiter } from "../src/store/postgresql/settleBatch.js";

/**
 * A write the test ends when it wants, with the ids it was given.
 */
interface IWrite {
	ids: string[];
	end: (keptOut?: string[]) => void;
	fail: (err: Error) => void;
}

/**
 * A batch whose writes wait for the test.
 * @returns The batch and the writes asked of it so far.
 */
function batchOfHeldWrites(): { batch: SettleBatch; writes: IWrite[] } {
	const writes: IWrite[] = [];
	const batch = new SettleBatch(
		async entries =>
			new Promise<Set<string>>((resolve, reject) => {
				writes.push({
					ids: entries.map(e => e.id),
					end: keptOut => resolve(new Set(keptOut)),
					fail: reject
				});
			})
	);
	return { batch, writes };
}

/**
 * A settle entry.
 * @param id The task id.
 * @returns The entry.
 */
function entry(id: string): ISettleEntry {
	return { id, owner: "me", claimedAt: "2026-01-01T00:00:00.000Z", remove: true };
}

/**
 * Queue a settle and wait for its outcome as a promise.
 * @param batch The batch.
 * @param settle The entry.
 * @returns True when written, false when the fence kept it out; rejects when the write failed.
 */
async function add(batch: SettleBatch, settle: ISettleEntry): Promise<boolean> {
	return new Promise<boolean>((resolve, reject) => {
		batch.wait({ entry: settle, written: resolve, failed: reject });
	});
}

/**
 * Let the event loop run a turn: setImmediate callbacks and the microtasks before them.
 */
async function turn(): Promise<void> {
	await new Promise<void>(resolve => setImmediate(resolve));
}

describe("SettleBatch", () => {
	test("a settle that finds nothing in flight is written on the next turn, with the others of that turn", async () => {
		const { batch, writes } = batchOfHeldWrites();
		const written = add(batch, entry("a"));
		add(batch, entry("b"));
		expect(writes).toHaveLength(0);
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a", "b"]]);
		writes[0].end();
		expect(await written).toBe(true);
	});

	test("the settles that arrive while a write is in flight go out together as soon as it ends", async () => {
		const { batch, writes } = batchOfHeldWrites();
		const first = add(batch, entry("a"));
		await turn();
		const b = add(batch, entry("b"));
		const c = add(batch, entry("c"));
		await turn();
		expect(writes).toHaveLength(1);
		writes[0].end();
		expect(await first).toBe(true);
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a"], ["b", "c"]]);
		writes[1].end(["c"]);
		expect(await b).toBe(true);
		expect(await c).toBe(false);
	});

	test("drain() writes what is queued at once and resolves only when every settle is written", async () => {
		const { batch, writes } = batchOfHeldWrites();
		add(batch, entry("a"));
		await turn();
		const b = add(batch, entry("b"));
		let drained = false;
		const draining = batch.drain().then(() => (drained = true));
		writes[0].end();
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a"], ["b"]]);
		expect(drained).toBe(false);
		writes[1].end();
		await draining;
		expect(await b).toBe(true);
	});

	test("drain() on a batch with nothing in flight writes it without waiting for the next turn", async () => {
		const { batch, writes } = batchOfHeldWrites();
		const a = add(batch, entry("a"));
		const draining = batch.drain();
		expect(writes.map(w => w.ids)).toEqual([["a"]]);
		writes[0].end();
		await draining;
		expect(await a).toBe(true);
	});

	test("a second settle of the same task waits for the next batch", async () => {
		const { batch, writes } = batchOfHeldWrites();
		add(batch, entry("a"));
		add(batch, entry("a"));
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a"]]);
		writes[0].end();
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a"], ["a"]]);
	});

	test("a failed write rejects every settle of its batch, and the next batch is still written", async () => {
		const { batch, writes } = batchOfHeldWrites();
		const a = add(batch, entry("a"));
		const b = add(batch, entry("b"));
		await turn();
		const c = add(batch, entry("c"));
		writes[0].fail(new Error("connection lost"));
		await expect(a).rejects.toThrow("connection lost");
		await expect(b).rejects.toThrow("connection lost");
		await turn();
		expect(writes.map(w => w.ids)).toEqual([["a", "b"], ["c"]]);
		writes[1].end();
		expect(await c).toBe(true);
	});

	test("a waiter whose method throws does not keep the others of its batch from their outcome, nor the next batch from going out", async () => {
		const { batch, writes } = batchOfHeldWrites();
		const heard: string[] = [];
		const waiter = (id: string, broken: boolean): ISettleWaiter => ({
			entry: entry(id),
			written: written => {
				heard.push(`${id} ${written}`);
				if (broken) {
					throw new Error("waiter broke");
				}
			},
			failed: err => {
				heard.push(`${id} ${(err as Error).message}`);
				if (broken) {
					throw new Error("waiter broke");
				}
			}
		});
		batch.wait(waiter("a", true));
		batch.wait(waiter("b", false));
		await turn();
		batch.wait(waiter("c", true));
		batch.wait(waiter("d", false));
		expect(heard).toEqual([]);
		writes[0].end(["b"]);
		await turn();
		expect(heard).toEqual(["a true", "b false"]);
		expect(writes.map(w => w.ids)).toEqual([
			["a", "b"],
			["c", "d"]
		]);
		writes[1].fail(new Error("connection lost"));
		await turn();
		expect(heard).toEqual(["a true", "b false", "c connection lost", "d connection lost"]);
	});
});
