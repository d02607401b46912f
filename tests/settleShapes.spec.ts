// The settle statement's shapes without a server: which fields a batch shares, the parameters in
// the statement's order, and the bound on the number of statements.
import { describe, expect, test } from "vitest";
import type { ISettleEntry } from "../src/store/postgresql/ISettleEntry.js";
import { arrayLiteral } from "../src/store/postgresql/postgresConnection.js";
import {
	MAX_SETTLE_SHAPES,
	settleParams,
	SettleShapes,
	sharedFields
} from "../src/store/postgresql/settleShapes.js";
import { SETTLE_FIELDS, settleSql } from "../src/store/postgresql/sql/settle.js";

/**
 * The bit of a settle field.
 * @param name The field.
 * @returns The bit.
 */
function bit(name: string): number {
	const i = SETTLE_FIELDS.findIndex(([field]) => field === name);
	expect(i).toBeGreaterThan(0);
	return 1 << i;
}

/**
 * A kept success's settle entry.
 * @param id The task id.
 * @param overrides Fields to change.
 * @returns The entry.
 */
function success(id: string, overrides: Partial<ISettleEntry> = {}): ISettleEntry {
	return {
		id,
		owner: "node-1",
		claimedAt: "2026-12-07T10:00:00.000Z",
		remove: false,
		status: "success",
		dateModified: "2026-12-07T10:00:00.005Z",
		dateNextProcess: undefined,
		dateCancelled: undefined,
		dateCompleted: "2026-12-07T10:00:00.005Z",
		retryInterval: undefined,
		retriesRemaining: 0,
		retainFor: -1,
		retainUntil: undefined,
		result: undefined,
		error: undefined,
		attempts: 1,
		progress: undefined,
		...overrides
	};
}

describe("settle shapes", () => {
	test("a batch shares every field all its entries hold the same value of, never the id; undefined and null are the same", () => {
		const entries = [
			success("a"),
			success("b", { dateModified: "2026-12-07T10:00:00.006Z", retryInterval: null }),
			success("c")
		];
		const shared = sharedFields(entries);
		expect(shared & 1).toBe(0);
		for (const name of ["owner", "claimedAt", "remove", "status", "retryInterval", "result"]) {
			expect(shared & bit(name)).not.toBe(0);
		}
		expect(shared & bit("dateModified")).toBe(0);
		expect(shared & bit("dateCompleted")).not.toBe(0);
	});

	test("a JSON object or array is never shared, a JSON text is; a batch of one shares nothing", () => {
		const same = { value: 1 };
		expect(
			sharedFields([success("a", { result: same }), success("b", { result: same })]) & bit("result")
		).toBe(0);
		expect(
			sharedFields([success("a", { result: [1] }), success("b", { result: [1] })]) & bit("result")
		).toBe(0);
		expect(
			sharedFields([success("a", { result: '"x"' }), success("b", { result: '"x"' })]) &
				bit("result")
		).not.toBe(0);
		expect(sharedFields([success("a")])).toBe(0);
	});

	test("parameters: an array per field not shared in field order, then each shared value as text in field order", () => {
		const entries = [
			success("a", { result: { n: 1 } }),
			success("b", { result: '"say \\"hi\\""', claimedAt: "2026-12-07T10:00:00.001Z" })
		];
		const shared = sharedFields(entries);
		const params = settleParams(entries, shared);
		const names = SETTLE_FIELDS.map(([name]) => name);
		const arrays = names.filter((_, i) => i === 0 || (shared & (1 << i)) === 0);
		const scalars = names.filter((_, i) => i > 0 && (shared & (1 << i)) !== 0);
		expect(arrays).toEqual(["id", "claimedAt", "result"]);
		expect(params.length).toBe(SETTLE_FIELDS.length);
		expect(params.slice(0, 3)).toEqual([
			"{a,b}",
			"{2026-12-07T10:00:00.000Z,2026-12-07T10:00:00.001Z}",
			arrayLiteral(['{"n":1}', JSON.stringify('"say \\"hi\\""')])
		]);
		const values = Object.fromEntries(scalars.map((name, i) => [name, params[3 + i]]));
		expect(values).toEqual({
			owner: "node-1",
			remove: "f",
			status: "success",
			dateModified: "2026-12-07T10:00:00.005Z",
			dateNextProcess: null,
			dateCancelled: null,
			dateCompleted: "2026-12-07T10:00:00.005Z",
			retryInterval: null,
			retriesRemaining: "0",
			retainFor: "-1",
			retainUntil: null,
			error: null,
			attempts: "1",
			progress: null
		});
		// Nothing shared: one array per field, as before.
		expect(settleParams(entries, 0)).toHaveLength(SETTLE_FIELDS.length);
		expect(settleParams(entries, 0)[1]).toBe("{node-1,node-1}");
	});

	test("the statement numbers the arrays first and selects each shared value under its field's name", () => {
		const text = settleSql(
			{ table: '"t"' } as Parameters<typeof settleSql>[0],
			true,
			false,
			bit("owner") | bit("status") | bit("result")
		);
		expect(text).toContain("(SELECT $1::text[]), (SELECT $2::text[]), (SELECT $3::boolean[])");
		expect(text).toContain(`AS x("id", "claimedAt", "remove", "dateModified"`);
		expect(text).toContain(`$15::text AS "owner", $16::text AS "status", $17::text AS "result"`);
		expect(text).not.toContain("$18");
		expect(text).toContain(`"result" = s."result"::jsonb`);
	});

	test("each shape's statement is made once; past MAX_SETTLE_SHAPES a new shape shares nothing", () => {
		const made: number[] = [];
		const shapes = new SettleShapes((updates, removals, shared) => {
			made.push(shared);
			return `${updates}/${removals}/${shared}`;
		});
		expect(shapes.statement(true, false, 6)).toEqual({ text: "true/false/6", shared: 6 });
		expect(shapes.statement(true, false, 6)).toEqual({ text: "true/false/6", shared: 6 });
		expect(made).toEqual([6]);
		for (let i = 1; i < MAX_SETTLE_SHAPES; i++) {
			shapes.statement(true, false, 6 + i * 8);
		}
		expect(made.length).toBe(MAX_SETTLE_SHAPES);
		expect(shapes.statement(true, true, 6)).toEqual({ text: "true/true/0", shared: 0 });
		expect(shapes.statement(true, false, 14)).toEqual({ text: "true/false/14", shared: 14 });
		expect(made.length).toBe(MAX_SETTLE_SHAPES + 1);
	});
});
