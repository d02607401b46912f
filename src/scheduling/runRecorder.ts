// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { ITaskSource, QueuedTask } from "../contracts/ITaskSource.js";
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { TaskLog } from "../utils/taskLog.js";
import type { IRunSlot } from "./IRunSlot.js";
import type { NodeMetrics } from "./nodeMetrics.js";
import type { RunAborts } from "./runAborts.js";
import type { IRecordSink, RunRecord } from "./runRecord.js";
import type { StorageRetries } from "./storageRetries.js";

/**
 * A runner's steps after a handler's outcome: the settle (a first write told to the run's
 * RunRecord, a failed one repeated while storage holds the claim), then the outcome reported (the
 * span's end, the state-change callback, "complete"), then the run's end with the task to queue
 * again when it is pending. Every path ends the run exactly once, whatever it meets; after the
 * runner is abandoned nothing is written.
 */
export class RunRecorder implements IRecordSink {
	/**
	 * Create a new RunRecorder.
	 * @param _source The task source.
	 * @param _retries Retries of failed storage calls.
	 * @param _aborts The runner's claimed tasks and their aborts.
	 * @param _metrics What the node measures of its own work.
	 * @param _log The log.
	 * @param _abandoned Whether the runner was abandoned (stop() ran out of time).
	 * @param _notify Calls a type's state-change callback; its promise, if there is one to wait for.
	 * @param _end Ends a run: its slot is told, then the count of runs.
	 */
	constructor(
		private readonly _source: ITaskSource,
		private readonly _retries: StorageRetries,
		private readonly _aborts: RunAborts,
		private readonly _metrics: NodeMetrics,
		private readonly _log: TaskLog,
		private readonly _abandoned: () => boolean,
		private readonly _notify: (
			handler: IRegisteredHandler,
			task: BackgroundTask
		) => Promise<void> | undefined,
		private readonly _end: (id: string, slot: IRunSlot, requeue: QueuedTask | undefined) => void
	) {}

	/**
	 * Write a run's outcome. Its record hears how the first write went; a source without
	 * settleThen is settled through its promise.
	 * @param record The run's record.
	 */
	public write(record: RunRecord): void {
		if (this._abandoned()) {
			this.recorded(record, undefined);
			return;
		}
		try {
			if (this._source.settleThen) {
				this._source.settleThen(record.next, record.remove, record);
			} else {
				this._source.settle(record.next, record.remove, undefined).then(
					written => record.settled(written),
					(err: unknown) => record.failed(err)
				);
			}
		} catch (err) {
			// A source that throws rather than reject: the same repeat as a failed write.
			record.failed(err);
		}
	}

	/**
	 * A run's first write failed: it is repeated while storage still holds the claim (the failed
	 * write may have committed); nothing more is written once the runner is abandoned.
	 * @param record The run's record.
	 * @param err The failure.
	 */
	public settleFailed(record: RunRecord, err: unknown): void {
		this._retries
			.after(
				err,
				async () => this._source.settle(record.next, record.remove, record.claimedAt),
				"settleFailed",
				record.next.id
			)
			.then(
				written => this.recorded(record, written),
				(unexpected: unknown) => {
					this._log.log("error", "unexpectedError", { id: record.next.id }, unexpected);
					this._end(record.next.id, record.slot, undefined);
				}
			);
	}

	/**
	 * A run's outcome is recorded, or (undefined) not written because the runner was abandoned:
	 * its span ends, the callback hears of it, then complete().
	 * @param record The run's record.
	 * @param written Whether it was written; undefined once the runner is abandoned.
	 */
	public recorded(record: RunRecord, written: boolean | undefined): void {
		const id = record.next.id;
		try {
			// Abandoned (nothing written): the span still ends, but no recorded attempt is counted.
			record.telemetry?.end(record.next, Date.now(), written !== undefined);
			this._aborts.forget(id);
			if (written !== undefined) {
				this._aborts.recorded(id);
				this._metrics.finished(Date.now());
				// A task removed while it ran is not written back, but its outcome is still reported:
				// the handler did run, and the callback may be how the caller learns its result.
				const notified = this._notify(record.handler, record.next);
				if (notified) {
					// The callback's promise does not reject (callStateCallback); complete() catches.
					void notified.then(() => this.complete(record, written));
				} else {
					this.complete(record, written);
				}
				return;
			}
		} catch (err) {
			this._log.log("error", "unexpectedError", { id }, err);
		}
		// Abandoned: abandon() already released the claim. Releasing it here, possibly after a later
		// start() claimed the task again, would clear that newer claim's mark, and a remove() during
		// the newer run would then be written back when it finishes.
		this._end(id, record.slot, undefined);
	}

	/**
	 * "complete" is logged, as the original does, whatever the status; then the run ends, with the
	 * task to queue again when it was written pending.
	 * @param record The run's record.
	 * @param written Whether the outcome was written.
	 */
	private complete(record: RunRecord, written: boolean): void {
		const next = record.next;
		let requeue: QueuedTask | undefined;
		try {
			this._log.log("info", "complete", { id: next.id, type: record.type, status: next.status });
			requeue = written && next.status === TaskStatus.Pending ? next : undefined;
		} catch (err) {
			this._log.log("error", "unexpectedError", { id: next.id }, err);
		}
		this._end(next.id, record.slot, requeue);
	}
}
