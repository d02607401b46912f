// Reads that lag behind writes, as DynamoDB's default (eventually consistent) reads do: a task
// recorded `success` may still be read `pending` for a moment, by the scan and by the claim's
// re-read alike. Such a copy must never be claimed, or the task runs twice. The storage here is
// unknown to the package (its CLASS_NAME is its own), so it also runs with the safe defaults:
// one sort property, no projection, nothing assumed about where missing values sort.
import { TaskStatus } from "@twin.org/background-task-models";
import {
	EntityConditions,
	EntitySchemaFactory,
	EntitySorter,
	type EntityCondition,
	type IEntitySchema,
	type SortDirection
} from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import type { BackgroundTask } from "../src/index.js";
import { CONTRACT_HANDLERS } from "./contract/storageContract.js";
import { createConnector, waitFor, waitForStatus } from "./helpers/harness.js";

/**
 * An in-memory store whose every read answers as the store was `lagMs` ago, with one sort
 * property at most and no projection (it throws otherwise, as DynamoDB does on a second key).
 */
class LaggingStorage implements IEntityStorageConnector<BackgroundTask> {
	public readonly CLASS_NAME = "LaggingStorage";

	/**
	 * Every version of every task: when it was written, and the entity (undefined: removed).
	 */
	private readonly _versions = new Map<string, { at: number; entity?: BackgroundTask }[]>();

	/**
	 * Queries answered, with when each was asked.
	 */
	public readonly queries: number[] = [];

	constructor(private readonly lagMs: number) {}

	public getSchema(): IEntitySchema {
		return EntitySchemaFactory.get("BackgroundTask") as IEntitySchema;
	}

	public async set(entity: BackgroundTask): Promise<void> {
		this.write(entity.id, structuredClone(entity));
	}

	public async remove(id: string): Promise<void> {
		this.write(id, undefined);
	}

	public async get(id: string): Promise<BackgroundTask | undefined> {
		const entity = this.asOf(id);
		return entity ? structuredClone(entity) : undefined;
	}

	public async query(
		condition?: EntityCondition<BackgroundTask>,
		sort?: { property: keyof BackgroundTask; sortDirection: SortDirection }[],
		properties?: (keyof BackgroundTask)[],
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: Partial<BackgroundTask>[]; cursor?: string }> {
		this.queries.push(Date.now());
		if ((sort?.length ?? 0) > 1) {
			throw new Error("LaggingStorage: one sort property at most");
		}
		if (properties !== undefined) {
			throw new Error("LaggingStorage: no projection");
		}
		const all = [...this._versions.keys()]
			.map(id => this.asOf(id))
			.filter((e): e is BackgroundTask => e !== undefined && EntityConditions.check(e, condition));
		const sorted = EntitySorter.sort(
			all,
			sort?.map(s => ({ ...s, type: "string" as const }))
		);
		const start = Number(cursor ?? 0);
		const size = pageSize ?? 20;
		const entities = sorted.slice(start, start + size).map(e => structuredClone(e));
		return {
			entities,
			cursor: start + size < sorted.length ? String(start + size) : undefined
		};
	}

	private write(id: string, entity: BackgroundTask | undefined): void {
		const list = this._versions.get(id) ?? [];
		list.push({ at: Date.now(), entity });
		this._versions.set(id, list);
	}

	private asOf(id: string): BackgroundTask | undefined {
		const visible = Date.now() - this.lagMs;
		const list = this._versions.get(id) ?? [];
		let entity: BackgroundTask | undefined;
		for (const version of list) {
			if (version.at <= visible) {
				entity = version.entity;
			}
		}
		return entity;
	}
}

describe("reads that lag behind writes", () => {
	test("a task read pending after it was recorded final is not run again", async () => {
		const storage = new LaggingStorage(150);
		const runs = new Map<string, number>();
		const { connector, start } = createConnector(
			{ executionMode: "inline", concurrency: 4, pollInterval: 100 },
			storage
		);
		await connector.registerHandler("lagging", CONTRACT_HANDLERS, "echo", async task => {
			if (task.status === TaskStatus.Processing) {
				runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
			}
		});
		await start();
		const ids: string[] = [];
		for (let i = 0; i < 40; i++) {
			ids.push(await connector.create("lagging", { i }, { retainFor: -1 }));
		}
		await waitFor(
			async () => {
				const done = await Promise.all(ids.map(async id => connector.get(id)));
				return done.every(t => t?.status === TaskStatus.Success) || undefined;
			},
			20000,
			"every task to succeed"
		);
		// Scans that read the store as it was when the last tasks were still pending: each could
		// have claimed a stale copy.
		const settled = Date.now();
		await waitFor(
			() => storage.queries.filter(t => t > settled + 150).length >= 3 || undefined,
			5000,
			"three scans of the store as it is after every task succeeded"
		);
		expect(runs.size).toBe(ids.length);
		expect([...runs.values()].filter(n => n !== 1)).toEqual([]);
	});

	test("a failed task retried in the millisecond it failed runs again", async () => {
		// The clock stands still: the failure and the retry() carry the same dateModified, and
		// the retried copy must not be taken for a stale read of the failure.
		vi.useFakeTimers({ toFake: ["Date"] });
		const dir = mkdtempSync(join(tmpdir(), "stale-"));
		try {
			const storage = new LaggingStorage(0);
			const { connector, start } = createConnector({ executionMode: "inline" }, storage);
			await connector.registerHandler("retried", CONTRACT_HANDLERS, "failTimes");
			await start();
			const id = await connector.create(
				"retried",
				{ counter: join(dir, "attempts"), failures: 1 },
				{ retainFor: -1 }
			);
			await waitForStatus(connector, id, [TaskStatus.Failed]);
			await connector.retry(id);
			const task = await waitForStatus(connector, id, [TaskStatus.Success]);
			expect(task.result).toEqual({ attempts: 2 });
		} finally {
			vi.useRealTimers();
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
