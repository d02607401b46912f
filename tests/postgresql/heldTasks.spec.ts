// The phases of a held task (HeldTasks) and the statement runner's repeat rule (StatementRunner),
// without a server.
import type postgres from "postgres";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/domain/backgroundTask.js";
import { ConnectionSet } from "../../src/store/postgresql/connectionSet.js";
import { HeldTasks } from "../../src/store/postgresql/heldTasks.js";
import type { PostgresPools } from "../../src/store/postgresql/postgresPools.js";
import { StatementRunner } from "../../src/store/postgresql/statementRunner.js";

/**
 * A claimed task, as far as HeldTasks reads it.
 * @param id The task id.
 * @returns The task.
 */
function task(id: string): BackgroundTask {
	return { id, type: "t", dateModified: "2026-01-01T00:00:00.000Z" } as BackgroundTask;
}

describe("HeldTasks", () => {
	test("a fetched task waits, starts, settles and is dropped", () => {
		const held = new HeldTasks();
		held.add(task("a"), "owner", 0, true);
		const record = held.get("a");
		expect(record?.phase).toBe("waiting");
		expect(held.waiting()).toEqual(["a"]);
		expect(held.start(record!).id).toBe("a");
		expect(record?.phase).toBe("running");
		expect(held.waiting()).toEqual([]);
		held.beginSettle(record!, true);
		expect(record?.phase).toBe("settling");
		expect(held.endSettle("a", record!)).toBe("held");
		expect(held.get("a")).toBeUndefined();
	});

	test("a lost lease: a waiting task is dropped, a running one is lost until a fetch takes it again", () => {
		const held = new HeldTasks();
		held.add(task("w"), "owner", 0, true);
		held.add(task("r"), "owner", 0, false);
		expect(held.leaseGone("w", held.get("w")!)).toBe(true);
		expect(held.get("w")).toBeUndefined();
		const running = held.get("r")!;
		expect(held.leaseGone("r", running)).toBe(true);
		expect(running.phase).toBe("lost");
		expect(held.renewable("owner")).toEqual([]);
		expect(held.leaseGone("r", running)).toBe(false);
		held.reclaimed(running, "2026-01-01T00:00:01.000Z", 5);
		expect(running.phase).toBe("running");
		expect(running.claimedAt).toBe("2026-01-01T00:00:01.000Z");
		expect(held.renewable("owner")).toEqual(["r"]);
	});

	test("which tasks a fetch that takes them again finds running here: any phase but waiting, unless a settle to pending is being written", () => {
		const held = new HeldTasks();
		for (const id of ["w", "r", "l", "f", "p", "x"]) {
			held.add(task(id), "owner", 0, id === "w");
		}
		held.leaseGone("l", held.get("l")!);
		held.beginSettle(held.get("f")!, true);
		held.beginSettle(held.get("p")!, false);
		held.markRemoved("x");
		const runsHere = (id: string, owner = "owner"): boolean => held.runsHere(held.get(id)!, owner);
		expect(["w", "r", "l", "f", "p", "x"].filter(id => runsHere(id))).toEqual(["r", "l", "f", "x"]);
		expect(runsHere("r", "another owner")).toBe(false);
	});

	test("a fetch that takes a settling task again: it stays settling under the new claim, renewed again if it was lost", () => {
		const held = new HeldTasks();
		held.add(task("s"), "owner", 0, false);
		const record = held.get("s")!;
		held.leaseGone("s", record);
		held.beginSettle(record, true);
		expect(held.renewable("owner")).toEqual([]);
		expect(held.runsHere(record, "owner")).toBe(true);
		held.reclaimed(record, "2026-01-01T00:00:02.000Z", 7);
		expect(record.phase).toBe("settling");
		expect(record.claimedAt).toBe("2026-01-01T00:00:02.000Z");
		expect(held.renewable("owner")).toEqual(["s"]);
		expect(held.endSettle("s", record)).toBe("held");
		held.add(task("w"), "owner", 0, true);
		expect(() => held.reclaimed(held.get("w")!, "2026-01-01T00:00:03.000Z", 8)).toThrow(
			"HeldTasks.reclaimed: a t task waiting, expected running or lost or settling or removed"
		);
	});

	test("a failed settle returns the task to its phase; a removal during a settle is kept", () => {
		const held = new HeldTasks();
		held.add(task("a"), "owner", 0, false);
		const record = held.get("a")!;
		held.leaseGone("a", record);
		held.beginSettle(record, true);
		held.settleFailed(record);
		expect(record.phase).toBe("lost");
		held.beginSettle(record, true);
		expect(held.leaseGone("a", record)).toBe(false);
		held.markRemoved("a");
		expect(record.phase).toBe("removed");
		held.settleFailed(record);
		expect(record.phase).toBe("removed");
		expect(held.endSettle("a", record)).toBe("removed");
	});

	test("an unexpected transition throws, naming it", () => {
		const held = new HeldTasks();
		held.add(task("a"), "owner", 0, false);
		expect(() => held.start(held.get("a")!)).toThrow(
			/HeldTasks\.start: .*running, expected waiting/
		);
	});
});

describe("StatementRunner", () => {
	/**
	 * A runner over a pool whose statements fail as a lost connection does.
	 * @returns The runner and how many statements were sent.
	 */
	function lostConnection(): { runner: StatementRunner; sent: () => number } {
		let sent = 0;
		const sql = {
			unsafe: () => {
				sent++;
				return Promise.reject(Object.assign(new Error("gone"), { code: "CONNECTION_CLOSED" }));
			}
		};
		const pools = {
			session: undefined,
			db: async () => new ConnectionSet([sql as unknown as postgres.Sql])
		} as unknown as PostgresPools;
		return { runner: new StatementRunner("PostgresTaskSource", pools, 1000), sent: () => sent };
	}

	test("repeats an idempotent statement whose connection was lost, up to three times", async () => {
		const { runner, sent } = lostConnection();
		await expect(runner.run("SELECT 1", [], { idempotent: true })).rejects.toThrow("gone");
		expect(sent()).toBe(4);
	});

	test("never repeats a non-idempotent statement, nor one its caller repeats", async () => {
		const { runner, sent } = lostConnection();
		await expect(runner.run("SELECT 1", [], { idempotent: false })).rejects.toThrow("gone");
		await expect(runner.run("SELECT 1", [], { idempotent: true, repeat: false })).rejects.toThrow(
			"gone"
		);
		expect(sent()).toBe(2);
	});

	test("refuses a session statement while no session is open", async () => {
		const { runner } = lostConnection();
		await expect(runner.run("SELECT 1", [], { idempotent: false, on: "session" })).rejects.toThrow(
			/notOpen/
		);
	});
});
