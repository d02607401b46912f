// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { QueuedTask } from "../contracts/ITaskSource.js";
import type { IRunSlot } from "./IRunSlot.js";
import type { SlotPump } from "./slotPump.js";
import type { TaskQueue } from "./taskQueue.js";

/**
 * One run's slot: freed when its handler returns (early) or when the run ends, then the run's
 * end handed to the pump. One object a run, which TaskRunner tells.
 */
export class RunSlot implements IRunSlot {
	/**
	 * Whether the slot was freed.
	 * @internal
	 */
	private _released = false;

	/**
	 * Create a run's slot.
	 * @param pump The pump.
	 * @param queue The task's queue.
	 * @param id The task id.
	 * @param session The scheduler's session the run belongs to.
	 * @param early Whether the slot is freed when the handler returns, before the record.
	 * @param deep Whether the run was started beyond its type's concurrency (SlotPump).
	 */
	constructor(
		private readonly pump: SlotPump,
		private readonly queue: TaskQueue,
		private readonly id: string,
		private readonly session: number,
		private readonly early: boolean,
		private readonly deep: boolean
	) {}

	/**
	 * The handler has returned: free the slot now if the type allows it.
	 */
	public handlerDone(): void {
		if (this.early) {
			this.release();
		}
	}

	/**
	 * The run has ended: free the slot if still held, and hand the task back if it is requeued.
	 * @param requeue The task to queue again, if any.
	 */
	public ended(requeue: QueuedTask | undefined): void {
		this.release();
		this.pump.finished(this.queue, this.id, this.session, requeue);
	}

	/**
	 * Free the slot, once.
	 * @internal
	 */
	private release(): void {
		if (!this._released) {
			this._released = true;
			this.pump.release(this.queue, this.id, this.session, this.deep);
		}
	}
}
