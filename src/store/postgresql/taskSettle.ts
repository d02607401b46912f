// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISettleDone } from "../../contracts/ITaskSource.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { HeldTasks } from "./heldTasks.js";
import type { IHeldTask } from "./IHeldTask.js";
import type { ISettleEntry } from "./ISettleEntry.js";
import type { PostgresSession } from "./postgresSession.js";
import { settleEntry } from "./rowMapping.js";
import type { ISettleWaiter, SettleBatch } from "./settleBatch.js";

/**
 * What a settle in flight uses of its TaskSettles.
 */
export interface ISettleParts {
	/**
	 * The batch it waits in.
	 */
	readonly batch: SettleBatch;

	/**
	 * The tasks held here.
	 */
	readonly held: HeldTasks;

	/**
	 * The session (told of each settle, for the serial types' notifications).
	 */
	readonly session: PostgresSession;

	/**
	 * The log.
	 */
	readonly log: TaskLog | undefined;

	/**
	 * Whether a repeat's task is stored as this settle would leave it (the failed write committed).
	 * @param task The settled task.
	 * @param remove Whether the settle removes it.
	 * @returns True when it is.
	 */
	alreadySettled(task: BackgroundTask, remove: boolean): Promise<boolean>;
}

/**
 * One settle from its first write in a batch to its outcome, as one object: while it waits it is
 * the batch's waiter, so a task waiting for its record keeps this object and its entry alive
 * rather than a suspended async frame, its promise and the batch's resolving functions
 * (docs/performance.md, "Hot path"). The steps are TaskSettles.settle's: the write under the
 * claim's fence; for a repeat of a failed write that was kept out, a read of whether the failed
 * one committed; while the task was claimed again here meanwhile, the write again under the new
 * fence; then the held record's end, and the outcome to `done`.
 */
export class TaskSettle implements ISettleWaiter {
	/**
	 * The entry being written (set by start()).
	 */
	public entry!: ISettleEntry;

	/**
	 * A repeat's read of the stored task was made.
	 * @internal
	 */
	private _checked = false;

	/**
	 * Create a settle; start() queues its first write.
	 * @param _parts The TaskSettles' parts.
	 * @param _task The settled task.
	 * @param _remove Whether it removes the task.
	 * @param _held The task's held record, if it is held for this run.
	 * @param _fence The claim's dateModified the write is fenced by.
	 * @param _owner The lease owner of the claim.
	 * @param _repeat Whether this repeats a write that failed.
	 * @param _done Told the outcome.
	 */
	constructor(
		private readonly _parts: ISettleParts,
		private readonly _task: BackgroundTask,
		private readonly _remove: boolean,
		private readonly _held: IHeldTask | undefined,
		private _fence: string,
		private readonly _owner: string,
		private readonly _repeat: boolean,
		private readonly _done: ISettleDone
	) {}

	/**
	 * Queue a write under the current fence (the first, or again under a new claim). An entry that
	 * cannot be built fails the settle as a failed write does (the held task goes back to where it
	 * was), from a microtask.
	 */
	public start(): void {
		try {
			this.entry = settleEntry(this._task, this._owner, this._fence, this._remove);
		} catch (err) {
			queueMicrotask(() => this.failed(err));
			return;
		}
		this._parts.batch.wait(this);
	}

	/**
	 * The batch was written (or a repeat's read answered).
	 * @param written True when the row was written or removed (or already was).
	 */
	public written(written: boolean): void {
		const held = this._held;
		try {
			if (!written && this._repeat && !this._checked) {
				// A repeat of a write that failed: the failed one may have committed before it threw.
				this._checked = true;
				this._parts.alreadySettled(this._task, this._remove).then(
					already => this.written(already),
					(err: unknown) => this.failed(err)
				);
				return;
			}
			if (
				!written &&
				held &&
				held.claimedAt !== this._fence &&
				this._parts.held.get(this._task.id) === held
			) {
				// A fetch of this instance took the task again while this settle waited (its lease
				// had lapsed), so the old claim's fence kept the write out: write under the new one.
				this._fence = held.claimedAt;
				this.start();
				return;
			}
		} catch (err) {
			this.failed(err);
			return;
		}
		try {
			const standing = held ? this._parts.held.endSettle(this._task.id, held) : "held";
			if (!written && standing === "held") {
				this._parts.log?.log("warn", "leaseLost", { id: this._task.id, type: this._task.type });
			}
			this._parts.session.settled(this._task.type);
		} catch (err) {
			this._done.failed(err);
			return;
		}
		this._done.settled(written);
	}

	/**
	 * The write (or a repeat's read) failed: the caller repeats the settle, so the task goes back to
	 * where it was meanwhile (else it would stay settling, its lease renewed, until close).
	 * @param err The failure.
	 */
	public failed(err: unknown): void {
		let failure = err;
		try {
			if (this._held) {
				this._parts.held.settleFailed(this._held);
			}
		} catch (inner) {
			failure = inner;
		}
		this._done.failed(failure);
	}
}
