// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ProgressListener } from "../contracts/ITaskExecutor.js";
import type { ITaskSource } from "../contracts/ITaskSource.js";
import type { TaskLog } from "../utils/taskLog.js";

/**
 * The progress of one running task on its way to storage.
 */
interface IProgressState {
	/**
	 * The latest value received, as JSON text.
	 */
	latest: string;

	/**
	 * The latest value is not written yet.
	 */
	pending: boolean;

	/**
	 * A write is in flight.
	 */
	writing: boolean;

	/**
	 * The handler ended: the settle writes the last value, nothing more is written here.
	 */
	ended: boolean;
}

/**
 * Writes the progress the handlers of the running tasks report, as the executor passes it on (at
 * most about once a second per task, see PROGRESS_INTERVAL_MS in jobContext.mjs): each value
 * received is written, fenced by the source so that it never overwrites an outcome or another
 * claim, one write at a time per task, a value received while one is in flight written after it
 * (only the latest). A failed write is logged and dropped; it never fails the task. When the
 * handler ends, end() hands the latest value received to the settle, which writes it with the
 * outcome. Nothing is kept for a task whose handler never reports.
 */
export class ProgressWrites {
	/**
	 * The tasks that reported progress, by id.
	 * @internal
	 */
	private readonly _tasks = new Map<string, IProgressState>();

	/**
	 * Create a new ProgressWrites.
	 * @param source The task source, which writes and fences.
	 * @param log The log, for failed writes.
	 * @param isClaimed Whether a task is claimed by this runner: progress of any other is dropped.
	 */
	constructor(
		private readonly source: ITaskSource,
		private readonly log: TaskLog,
		private readonly isClaimed: (id: string) => boolean
	) {}

	/**
	 * The executor's listener: a running handler reported progress.
	 * @param taskId The task id.
	 * @param progress The value as JSON text.
	 */
	public readonly report: ProgressListener = (taskId, progress) => {
		if (!this.isClaimed(taskId)) {
			return;
		}
		let state = this._tasks.get(taskId);
		if (state === undefined) {
			state = { latest: progress, pending: true, writing: false, ended: false };
			this._tasks.set(taskId, state);
		} else {
			state.latest = progress;
			state.pending = true;
		}
		if (!state.writing) {
			void this.write(taskId, state);
		}
	};

	/**
	 * The task's handler ended: write nothing more for it.
	 * @param id The task id.
	 * @returns The latest progress received, if any.
	 */
	public end(id: string): unknown {
		const state = this._tasks.get(id);
		if (state === undefined) {
			return undefined;
		}
		this._tasks.delete(id);
		state.ended = true;
		return JSON.parse(state.latest);
	}

	/**
	 * Write a task's latest value until none is pending or its handler ended.
	 * @param id The task id.
	 * @param state The task's progress.
	 * @internal
	 */
	private async write(id: string, state: IProgressState): Promise<void> {
		state.writing = true;
		while (state.pending && !state.ended) {
			state.pending = false;
			try {
				if (!(await this.source.writeProgress(id, JSON.parse(state.latest)))) {
					// The run no longer holds the claim (its settle began, its lease was lost, or it was
					// removed): nothing of it is kept.
					if (this._tasks.get(id) === state) {
						this._tasks.delete(id);
					}
					break;
				}
			} catch (err) {
				this.log.log("warn", "progressFailed", { id }, err);
			}
		}
		state.writing = false;
	}
}
