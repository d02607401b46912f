// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { IHeldTask } from "./IHeldTask.js";

/**
 * The tasks this instance holds a lease on, by id: claimed by fetch and waiting to start (they
 * carry their row), or running. What the heartbeat renews, what settles are fenced with, and
 * what close gives back.
 */
export class HeldTasks {
	/**
	 * The records by task id.
	 * @internal
	 */
	private readonly _tasks = new Map<string, IHeldTask>();

	/**
	 * The record of a task.
	 * @param id The task id.
	 * @returns The record, if held.
	 */
	public get(id: string): IHeldTask | undefined {
		return this._tasks.get(id);
	}

	/**
	 * Hold a task claimed now.
	 * @param task The claimed task (its dateModified is the claim's).
	 * @param owner The lease owner.
	 * @param leaseAt When the claim was sent, performance.now().
	 * @param waiting True when claimed by fetch and not started yet (the row is kept for claim).
	 */
	public add(task: BackgroundTask, owner: string, leaseAt: number, waiting: boolean): void {
		this._tasks.set(task.id, {
			type: task.type,
			owner,
			claimedAt: task.dateModified,
			leaseAt,
			fetchedAt: leaseAt,
			row: waiting ? task : undefined,
			lost: false,
			removed: false,
			settling: false
		});
	}

	/**
	 * Stop holding a task, if this record is still the one held.
	 * @param id The task id.
	 * @param record The record expected, or any when absent.
	 */
	public delete(id: string, record?: IHeldTask): void {
		if (record === undefined || this._tasks.get(id) === record) {
			this._tasks.delete(id);
		}
	}

	/**
	 * Forget every task.
	 */
	public clear(): void {
		this._tasks.clear();
	}

	/**
	 * How many tasks of a type wait to start.
	 * @param type The task type.
	 * @returns The count.
	 */
	public waitingCount(type: string): number {
		let count = 0;
		for (const held of this._tasks.values()) {
			if (held.row !== undefined && held.type === type) {
				count++;
			}
		}
		return count;
	}

	/**
	 * The tasks waiting to start, optionally only those waiting longer than a time.
	 * @param olderThan Only those fetched before this performance.now() time.
	 * @returns The ids.
	 */
	public waiting(olderThan = Number.POSITIVE_INFINITY): string[] {
		const ids: string[] = [];
		for (const [id, held] of this._tasks) {
			if (held.row !== undefined && held.fetchedAt < olderThan) {
				ids.push(id);
			}
		}
		return ids;
	}

	/**
	 * The tasks whose lease the owner should renew: held under that owner and not known lost.
	 * @param owner The lease owner.
	 * @returns The ids.
	 */
	public renewable(owner: string): string[] {
		const ids: string[] = [];
		for (const [id, held] of this._tasks) {
			if (!held.lost && held.owner === owner) {
				ids.push(id);
			}
		}
		return ids;
	}
}
