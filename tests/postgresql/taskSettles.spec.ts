// TaskSettles without a server: the held task's phase when a repeated settle cannot tell whether
// its first write committed.
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/domain/backgroundTask.js";
import { HeldTasks } from "../../src/store/postgresql/heldTasks.js";
import type { PostgresSession } from "../../src/store/postgresql/postgresSession.js";
import type { PostgresStatements } from "../../src/store/postgresql/postgresStatements.js";
import type { StatementRunner } from "../../src/store/postgresql/statementRunner.js";
import { TaskSettles } from "../../src/store/postgresql/taskSettles.js";
import { newTask } from "./helpers.js";
import type { ISettleDone } from "../../src/contracts/ITaskSource.js";
import type { TaskLog } from "../../src/utils/taskLog.js";
import { waitFor } from "../helpers/harness.js";

describe("TaskSettles", () => {
	test("a repeated settle whose check of the first write fails puts the task back to running; the next repeat ends it", async () => {
		const claimed = newTask({ status: TaskStatus.Processing });
		const done: BackgroundTask = { ...claimed, status: TaskStatus.Success, retainFor: -1 };
		// Every write is kept out by the fence, as when the first write had committed.
		const runner = {
			assertOpen: () => {},
			// $1 is the ids' array literal, {a,b} (ids need no quotes; a quoted one loses them).
			run: async (_statement: string, params: unknown[]) =>
				String(params[0])
					.slice(1, -1)
					.split(",")
					.map(id => ({ id: id.replace(/^"|"$/g, "") }))
		} as unknown as StatementRunner;
		const statements = { settle: () => "settle" } as unknown as PostgresStatements;
		const session = { owner: "me", settled: () => {} } as unknown as PostgresSession;
		const held = new HeldTasks();
		held.add(claimed, "me", 0, false);
		let reads = 0;
		const read = async (): Promise<BackgroundTask | undefined> => {
			reads++;
			if (reads === 1) {
				throw new Error("connection lost");
			}
			return done;
		};
		const settles = new TaskSettles(runner, statements, session, held, read, undefined);

		await expect(settles.settle(done, false, claimed.dateModified)).rejects.toThrow(
			"connection lost"
		);
		expect(held.get(claimed.id)?.phase).toBe("running");
		expect(held.renewable("me")).toEqual([claimed.id]);

		expect(await settles.settle(done, false, claimed.dateModified)).toBe(true);
		expect(held.get(claimed.id)).toBeUndefined();
		expect(reads).toBe(2);
	});

	test("settleThen tells its outcome only after it returns: written, not held here, or on a closed runner", async () => {
		const held = new HeldTasks();
		const claimed = newTask({ status: TaskStatus.Processing });
		held.add(claimed, "me", 0, false);
		let open = true;
		const runner = {
			assertOpen: () => {
				if (!open) {
					throw new Error("closed");
				}
			},
			run: async () => []
		} as unknown as StatementRunner;
		const statements = { settle: () => "settle" } as unknown as PostgresStatements;
		const session = { owner: "me", settled: () => {} } as unknown as PostgresSession;
		const warned: string[] = [];
		const log = {
			log: (level: string, message: string) => warned.push(`${level} ${message}`)
		} as unknown as TaskLog;
		const settles = new TaskSettles(runner, statements, session, held, async () => undefined, log);
		const told: string[] = [];
		const done = (name: string): ISettleDone => ({
			settled: written => told.push(`${name} ${written}`),
			failed: err => told.push(`${name} ${(err as Error).message}`)
		});

		settles.settleThen({ ...claimed, status: TaskStatus.Success }, true, done("held"));
		settles.settleThen(newTask({ status: TaskStatus.Success }), true, done("other"));
		expect(told).toEqual([]);
		expect(held.get(claimed.id)?.phase).toBe("settling");
		await waitFor(() => told.length === 2);
		// The task not held here is told at once (a microtask); the held one once its batch is written.
		expect(told).toEqual(["other false", "held true"]);
		expect(warned).toEqual(["warn settleNotHeld"]);
		expect(held.get(claimed.id)).toBeUndefined();

		open = false;
		settles.settleThen(newTask({ status: TaskStatus.Success }), true, done("closed"));
		expect(told).toHaveLength(2);
		await waitFor(() => told.length === 3);
		expect(told[2]).toBe("closed closed");
	});

	test("a settle whose entry cannot be built fails as a failed write does: told after it returns, the task running again", async () => {
		const held = new HeldTasks();
		const claimed = newTask({ status: TaskStatus.Processing });
		held.add(claimed, "me", 0, false);
		const runner = { assertOpen: () => {}, run: async () => [] } as unknown as StatementRunner;
		const statements = { settle: () => "settle" } as unknown as PostgresStatements;
		const session = { owner: "me", settled: () => {} } as unknown as PostgresSession;
		const settles = new TaskSettles(
			runner,
			statements,
			session,
			held,
			async () => undefined,
			undefined
		);
		const broken = { ...claimed, status: TaskStatus.Success };
		Object.defineProperty(broken, "result", {
			enumerable: true,
			get: () => {
				throw new Error("result unreadable");
			}
		});
		const told: string[] = [];
		settles.settleThen(broken, false, {
			settled: written => told.push(`settled ${written}`),
			failed: err => told.push(`failed ${(err as Error).message}`)
		});
		expect(told).toEqual([]);
		await waitFor(() => told.length === 1);
		expect(told).toEqual(["failed result unreadable"]);
		expect(held.get(claimed.id)?.phase).toBe("running");
	});
});
