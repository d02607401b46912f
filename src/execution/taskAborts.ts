// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { abortedOutcome } from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";
import type { IPoolTask } from "./poolThreads.js";

/**
 * A signal piscina accepts (it calls addEventListener/removeEventListener and reads aborted) that
 * terminates a job's worker when fired. Cheaper than an AbortController, made for every job sent
 * alone, which could be stopped by abort(taskId); it holds the one listener piscina, or
 * runTimed, gives it.
 */
export class Terminator {
	/**
	 * Whether fire() was called.
	 */
	public aborted = false;

	/**
	 * Given to piscina's AbortError.
	 */
	public reason: unknown = undefined;

	/**
	 * The listener to call when fired.
	 * @internal
	 */
	private _listener?: () => void;

	/**
	 * Set the listener.
	 * @param _type "abort".
	 * @param listener The listener.
	 */
	public addEventListener(_type: string, listener: () => void): void {
		this._listener = listener;
	}

	/**
	 * Clear the listener.
	 */
	public removeEventListener(): void {
		this._listener = undefined;
	}

	/**
	 * Terminate the job's worker.
	 */
	public fire(): void {
		if (!this.aborted) {
			this.aborted = true;
			this._listener?.();
		}
	}
}

/**
 * One task's job in the executor, for abort(taskId).
 */
export interface IPoolRun {
	/**
	 * The job; its jobId (set when sent) is its key on the abort channel.
	 */
	job: IPoolTask;

	/**
	 * Ends run() with an outcome.
	 */
	resolve: (outcome: AttemptOutcome) => void;

	/**
	 * Set by abort(): the reason.
	 */
	reason?: string;

	/**
	 * The job's terminator, when it was sent alone.
	 */
	terminator?: Terminator;
}

/**
 * The jobs of the executor that run a task, by task id, so abort(taskId) finds them: it fires
 * the handler's signal and, abortGrace later, ends the run with an aborted outcome, terminating
 * the worker of a job sent alone. A quick handler's job sent in a message with others keeps its
 * worker (terminating it would fail the message's other jobs); its run ends all the same.
 */
export class TaskAborts {
	/**
	 * The runs, by task id.
	 * @internal
	 */
	private readonly _runs = new Map<string, IPoolRun>();

	/**
	 * Grace timers, cleared on close.
	 * @internal
	 */
	private readonly _timers = new Set<NodeJS.Timeout>();

	/**
	 * Create the book.
	 * @param graceMs How long a handler has to end once its signal fired.
	 * @param post Posts the abort of a job's number on the pool's channel.
	 */
	constructor(
		private readonly graceMs: number,
		private readonly post: (jobId: number, reason: string) => void
	) {}

	/**
	 * Run a task's job so that abort() can end it: run is called with the job's record.
	 * @param taskId The task id.
	 * @param job The job.
	 * @param run Runs the job.
	 * @returns The outcome.
	 */
	public track(
		taskId: string,
		job: IPoolTask,
		run: (entry: IPoolRun) => Promise<AttemptOutcome>
	): Promise<AttemptOutcome> {
		return new Promise<AttemptOutcome>((resolve, reject) => {
			const entry: IPoolRun = { job, resolve };
			this._runs.set(taskId, entry);
			const ended = (): void => {
				if (this._runs.get(taskId) === entry) {
					this._runs.delete(taskId);
				}
			};
			run(entry).then(
				outcome => {
					ended();
					resolve(outcome);
				},
				(err: unknown) => {
					ended();
					reject(err);
				}
			);
		});
	}

	/**
	 * Fire the signal of a task's job, and end its run abortGrace later if it has not ended.
	 * @param taskId The task id.
	 * @param reason The reason.
	 * @returns True when the task had a job here.
	 */
	public abort(taskId: string, reason: string): boolean {
		const entry = this._runs.get(taskId);
		if (!entry) {
			return false;
		}
		if (entry.reason !== undefined) {
			return true;
		}
		entry.reason = reason;
		// A job not sent yet has no number: it is not sent (runAlone checks the reason).
		if (entry.job.jobId !== undefined) {
			this.post(entry.job.jobId, reason);
		}
		const timer = setTimeout(() => {
			this._timers.delete(timer);
			if (this._runs.get(taskId) === entry) {
				entry.terminator?.fire();
				entry.resolve(abortedOutcome(reason));
			}
		}, this.graceMs);
		this._timers.add(timer);
		return true;
	}

	/**
	 * Clear the grace timers (close()).
	 */
	public clear(): void {
		for (const timer of this._timers) {
			clearTimeout(timer);
		}
		this._timers.clear();
	}
}
