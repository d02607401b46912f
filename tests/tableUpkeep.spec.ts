// The native backend's own vacuum (TableUpkeep): when it looks at the table's dead rows, when it
// vacuums, and that a failure is logged and never reaches a settle. The statements run on a
// recording runner; tests/postgresql/tableUpkeep.spec.ts runs them on a server.
import type { ILogEntry } from "@twin.org/logging-models";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { PostgresStatements } from "../src/store/postgresql/postgresStatements.js";
import type { StatementRunner } from "../src/store/postgresql/statementRunner.js";
import {
	SMALL_CLAIM_TASKS,
	TableUpkeep,
	UPKEEP_MIN_GAP_MS
} from "../src/store/postgresql/tableUpkeep.js";
import { TaskLog } from "../src/utils/taskLog.js";

const STATEMENTS = {
	table: '"tasks"',
	deadRows: "DEAD ROWS",
	vacuum: "VACUUM"
} as unknown as PostgresStatements;

/**
 * An upkeep on a runner that answers the dead-rows look with `answer` and records each statement.
 * @param every vacuumEvery.
 * @param answer What the look returns, or an error to throw.
 * @returns The upkeep, the statements run, the log entries and a way to change the owner.
 */
function upkeepWith(
	every: number,
	answer: () => { dead: number; allowed: boolean } | Error
): {
	upkeep: TableUpkeep;
	ran: string[];
	entries: ILogEntry[];
	setOwner: (owner: string) => void;
} {
	const ran: string[] = [];
	const entries: ILogEntry[] = [];
	let owner = "session-1";
	const runner = {
		isOpen: true,
		run: async (statement: string) => {
			ran.push(statement);
			const value = answer();
			if (value instanceof Error) {
				throw value;
			}
			return statement === STATEMENTS.deadRows ? [value] : [];
		}
	} as unknown as StatementRunner;
	const log = new TaskLog("PostgresTaskSource", {
		log: async (entry: ILogEntry) => {
			entries.push(entry);
		}
	} as never);
	const upkeep = new TableUpkeep(runner, STATEMENTS, every, () => owner, log);
	// Claims of two tasks, as nodes fed a trickle make; tests of large claims call claimed().
	const settled = upkeep.settled.bind(upkeep);
	upkeep.settled = (count: number): void => {
		upkeep.claimed(2);
		settled(count);
	};
	return { upkeep, ran, entries, setOwner: next => (owner = next) };
}

afterEach(() => {
	vi.useRealTimers();
});

describe("TableUpkeep", () => {
	test("looks after a quarter of vacuumEvery settles, and vacuums only when the dead rows reach it", async () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		let dead = 10;
		const { upkeep, ran } = upkeepWith(100, () => ({ dead, allowed: true }));
		upkeep.settled(24);
		await upkeep.idle();
		expect(ran).toEqual([]);
		upkeep.settled(1);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS"]);

		// Too few dead rows: no vacuum. Enough: one.
		dead = 100;
		vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS);
		upkeep.settled(25);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS", "DEAD ROWS", "VACUUM"]);
	});

	test("at most one look at a time and one a UPKEEP_MIN_GAP_MS; vacuumEvery 0 never looks", async () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		const { upkeep, ran } = upkeepWith(8, () => ({ dead: 1000, allowed: true }));
		upkeep.settled(2);
		upkeep.settled(2);
		upkeep.settled(2);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS", "VACUUM"]);
		upkeep.settled(100);
		await upkeep.idle();
		expect(ran).toHaveLength(2);
		vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS - 1);
		upkeep.settled(100);
		await upkeep.idle();
		expect(ran).toHaveLength(2);
		vi.advanceTimersByTime(1);
		upkeep.settled(1);
		await upkeep.idle();
		expect(ran).toHaveLength(4);

		const off = upkeepWith(0, () => ({ dead: 1000, allowed: true }));
		off.upkeep.settled(1_000_000);
		await off.upkeep.idle();
		expect(off.ran).toEqual([]);
	});

	test("no look while the claims are large (a backlog) or there were none; the gap still applies", async () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		const { upkeep, ran } = upkeepWith(4, () => ({ dead: 1000, allowed: true }));
		const settledOnly = Object.getPrototypeOf(upkeep).settled as TableUpkeep["settled"];
		settledOnly.call(upkeep, 100);
		await upkeep.idle();
		expect(ran).toEqual([]);
		vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS);
		upkeep.claimed(SMALL_CLAIM_TASKS);
		upkeep.claimed(SMALL_CLAIM_TASKS);
		settledOnly.call(upkeep, 100);
		await upkeep.idle();
		expect(ran).toEqual([]);
		// Claims of 31.5 tasks on average are small, but the last decision was just now.
		upkeep.claimed(SMALL_CLAIM_TASKS);
		upkeep.claimed(SMALL_CLAIM_TASKS - 1);
		settledOnly.call(upkeep, 100);
		await upkeep.idle();
		expect(ran).toEqual([]);
		vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS);
		settledOnly.call(upkeep, 100);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS", "VACUUM"]);
	});

	test("a role that may not vacuum: logged once, no more looks in that session, asked again in the next", async () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		const { upkeep, ran, entries, setOwner } = upkeepWith(4, () => ({
			dead: 1000,
			allowed: false
		}));
		for (let i = 0; i < 5; i++) {
			upkeep.settled(10);
			await upkeep.idle();
			vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS);
		}
		expect(ran).toEqual(["DEAD ROWS"]);
		expect(entries.map(e => [e.level, e.message])).toEqual([["info", "vacuumNotAllowed"]]);
		setOwner("session-2");
		upkeep.settled(10);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS", "DEAD ROWS"]);
	});

	test("a failed look or vacuum is logged as a warning, never thrown, and the next one comes later", async () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		let fail = true;
		const { upkeep, ran, entries } = upkeepWith(4, () =>
			fail ? new Error("connection lost") : { dead: 1000, allowed: true }
		);
		upkeep.settled(1);
		await expect(upkeep.idle()).resolves.toBeUndefined();
		expect(entries.map(e => [e.level, e.message, e.error?.message])).toEqual([
			["warn", "vacuumFailed", "connection lost"]
		]);
		fail = false;
		vi.advanceTimersByTime(UPKEEP_MIN_GAP_MS);
		upkeep.settled(1);
		await upkeep.idle();
		expect(ran).toEqual(["DEAD ROWS", "DEAD ROWS", "VACUUM"]);
	});
});
