// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ISettleDone } from "../contracts/ITaskSource.js";
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { AttemptTelemetry } from "../telemetry/taskTelemetry.js";
import type { IRunSlot } from "./IRunSlot.js";

/**
 * Where a run's record reports how its settle went (the TaskRunner).
 */
export interface IRecordSink {
	/**
	 * The settle is recorded, or there was nothing to write (undefined: the runner was abandoned).
	 * @param record The run's record.
	 * @param written Whether it was written.
	 */
	recorded(record: RunRecord, written: boolean | undefined): void;

	/**
	 * The first write failed: repeat it.
	 * @param record The run's record.
	 * @param err The failure.
	 */
	settleFailed(record: RunRecord, err: unknown): void;
}

/**
 * A run from its handler's outcome to its end: what the steps after the settle need (the
 * state-change callback, telemetry, the requeue of a pending task, the slot). One object, which is
 * also the settle's `done`, so a task waiting for its record keeps it alive rather than the run's
 * suspended async frame and its promise (docs/performance.md, "Hot path").
 */
export class RunRecord implements ISettleDone {
	/**
	 * Create a run's record.
	 * @param sink Hears how the settle went.
	 * @param type The task type.
	 * @param handler The handler.
	 * @param next The task to record (rules applied).
	 * @param claimedAt The claim's dateModified, the fence of a repeated write.
	 * @param remove Whether the settle removes the task.
	 * @param telemetry The attempt's span and measurements, if a provider is registered.
	 * @param slot The run's slot.
	 */
	constructor(
		private readonly sink: IRecordSink,
		public readonly type: string,
		public readonly handler: IRegisteredHandler,
		public readonly next: BackgroundTask,
		public readonly claimedAt: string,
		public readonly remove: boolean,
		public readonly telemetry: AttemptTelemetry | undefined,
		public readonly slot: IRunSlot
	) {}

	/**
	 * The settle is recorded.
	 * @param written False when nothing was written because the task was removed or the claim lost.
	 */
	public settled(written: boolean): void {
		this.sink.recorded(this, written);
	}

	/**
	 * The settle failed.
	 * @param err The failure.
	 */
	public failed(err: unknown): void {
		this.sink.settleFailed(this, err);
	}
}
