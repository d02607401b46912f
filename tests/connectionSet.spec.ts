// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// ConnectionSet: clients of one connection each, used as one pool (why: connectionSet.ts).
import type postgres from "postgres";
import { describe, expect, test } from "vitest";
import { ConnectionSet } from "../src/store/postgresql/connectionSet.js";

/**
 * Stand-ins for clients: each records whether it was ended.
 * @param count How many.
 * @returns The clients.
 */
function clients(count: number): (postgres.Sql & { ended: boolean })[] {
	return Array.from({ length: count }, () => {
		const client = {
			ended: false,
			end: async () => {
				client.ended = true;
			}
		};
		return client as unknown as postgres.Sql & { ended: boolean };
	});
}

/**
 * A promise and its resolver.
 * @returns Both.
 */
function gate(): { wait: Promise<void>; open: () => void } {
	let open = (): void => {};
	const wait = new Promise<void>(resolve => {
		open = resolve;
	});
	return { wait, open };
}

describe("ConnectionSet", () => {
	test("statements one after another all use the first client, so a light load opens one connection", async () => {
		const [a, b, c] = clients(3);
		const set = new ConnectionSet([a, b, c]);
		const used: unknown[] = [];
		for (let i = 0; i < 5; i++) {
			await set.use(async sql => {
				used.push(sql);
			});
		}
		expect(used).toEqual([a, a, a, a, a]);
	});

	test("statements in flight together spread over the clients, each to the one with fewest in flight", async () => {
		const [a, b, c] = clients(3);
		const set = new ConnectionSet([a, b, c]);
		const held = gate();
		const used: unknown[] = [];
		const running = Array.from({ length: 7 }, async () =>
			set.use(async sql => {
				used.push(sql);
				await held.wait;
			})
		);
		expect(used).toEqual([a, b, c, a, b, c, a]);
		held.open();
		await Promise.all(running);
		// All ended, so the next goes to the first again.
		await set.use(async sql => {
			used.push(sql);
		});
		expect(used[7]).toBe(a);
	});

	test("a client whose statement failed is free again", async () => {
		const [a, b] = clients(2);
		const set = new ConnectionSet([a, b]);
		await expect(
			set.use(async () => {
				throw new Error("refused");
			})
		).rejects.toThrow("refused");
		expect(await set.use(async sql => sql)).toBe(a);
	});

	test("replace puts a new client in the place of one, and refuses one it does not hold", async () => {
		const [a, b, fresh, other] = clients(4);
		const set = new ConnectionSet([a, b]);
		expect(set.replace(a, fresh)).toBe(true);
		expect(set.first).toBe(fresh);
		expect(set.clients).toEqual([fresh, b]);
		expect(set.replace(other, a)).toBe(false);
		expect(set.clients).toEqual([fresh, b]);
	});

	test("end ends every client", async () => {
		const all = clients(3);
		await new ConnectionSet(all).end({ timeout: 1 });
		expect(all.map(c => c.ended)).toEqual([true, true, true]);
	});
});
