// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AttemptOutcome } from "../domain/rules.js";
import {
	NOT_STARTED,
	type IHandlerJob,
	type ITaskExecutor,
	type ProgressListener
} from "../contracts/ITaskExecutor.js";
import { outsideTaskContext } from "../utils/taskContext.js";
import { fromEnvelope, HANDLER_WORKER_URL, timedOut, type RunnerEnvelope } from "./outcomes.js";

/**
 * A job's abort state (JobAbort of handlerWorker.mjs): its signal is made only if the handler
 * asks for it.
 */
interface IJobAbort {
	/**
	 * Abort, once.
	 * @param reason The reason.
	 */
	abort(reason: unknown): void;
}

/**
 * What the inline executor uses of the handler runner module.
 */
interface IRunnerModule {
	/**
	 * Run one job.
	 */
	default: (
		job: IHandlerJob,
		abort: IJobAbort,
		started?: { postMessage: (message: string) => void },
		progress?: ProgressListener
	) => Promise<RunnerEnvelope & { notStarted?: boolean }>;

	/**
	 * The abort state of a job.
	 */
	JobAbort: new () => IJobAbort;
}

/**
 * The outcome of a runner's envelope.
 * @param envelope The envelope.
 * @returns The outcome.
 */
function toOutcome(envelope: RunnerEnvelope & { notStarted?: boolean }): AttemptOutcome {
	return envelope.notStarted ? NOT_STARTED : fromEnvelope(envelope);
}

/**
 * Runs handlers on the calling thread with the same runner the workers use. No isolation: a
 * timed-out handler is abandoned (its attempt fails at once) but keeps running, and a handler that
 * calls process.exit ends the host. Its context's signal fires on the timeout and on abortAll(),
 * which is all that can end it early.
 */
export class InlineExecutor implements ITaskExecutor {
	/**
	 * The runner, imported on first use.
	 * @internal
	 */
	private _runner?: Promise<IRunnerModule>;

	/**
	 * The runner, once imported.
	 * @internal
	 */
	private _loaded?: IRunnerModule;

	/**
	 * Pending timeout timers, cleared on close.
	 * @internal
	 */
	private readonly _timers = new Set<NodeJS.Timeout>();

	/**
	 * The abort state of the jobs in run().
	 * @internal
	 */
	private readonly _running = new Set<IJobAbort>();

	/**
	 * Set by abortAll(): no handler starts after it.
	 * @internal
	 */
	private _abortedAll = false;

	/**
	 * Where handlers' progress goes.
	 * @internal
	 */
	private _progress?: ProgressListener;

	/**
	 * Pass a handler's progress to the listener outside the handler's context: the listener starts
	 * storage writes, which must not run as part of the task (see outsideTaskContext).
	 * @internal
	 */
	private readonly _passProgress: ProgressListener = (taskId, progress) => {
		const listener = this._progress;
		if (listener) {
			outsideTaskContext(() => listener(taskId, progress));
		}
	};

	/**
	 * Send handlers' progress to a listener.
	 * @param listener The listener.
	 */
	public setProgressListener(listener: ProgressListener): void {
		this._progress = listener;
	}

	/**
	 * Run one handler call.
	 * @param job The call.
	 * @param timeoutMs Abandon the handler after this long (firing its signal) and fail the attempt.
	 * @returns The outcome.
	 */
	public run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		// Not an async function: once the runner is imported, a call without a timeout is the
		// runner's promise, mapped.
		const runner = this._loaded;
		if (!runner) {
			return this.load().then(async () => this.run(job, timeoutMs));
		}
		if (this._abortedAll) {
			return Promise.resolve(NOT_STARTED);
		}
		const abort = new runner.JobAbort();
		this._running.add(abort);
		const ended = (outcome: AttemptOutcome): AttemptOutcome => {
			this._running.delete(abort);
			return outcome;
		};
		const failed = (err: unknown): never => {
			this._running.delete(abort);
			throw err;
		};
		if (timeoutMs === undefined) {
			return runner
				.default(job, abort, undefined, this._passProgress)
				.then(envelope => ended(toOutcome(envelope)), failed);
		}
		return this.withTimeout(runner, job, abort, timeoutMs).then(ended, failed);
	}

	/**
	 * A job's outcome, or a timed-out attempt once timeoutMs has passed since its handler was
	 * called (its signal fired then). As in a worker, the import of the handler's module is not
	 * counted: the runner says when it calls the handler.
	 * @param runner The runner.
	 * @param job The call.
	 * @param abort The job's abort state.
	 * @param timeoutMs The timeout.
	 * @returns The outcome.
	 * @internal
	 */
	private async withTimeout(
		runner: IRunnerModule,
		job: IHandlerJob,
		abort: IJobAbort,
		timeoutMs: number
	): Promise<AttemptOutcome> {
		let timer: NodeJS.Timeout | undefined;
		let expire: (outcome: AttemptOutcome) => void = () => {};
		const timeout = new Promise<AttemptOutcome>(resolve => {
			expire = resolve;
		});
		const started = {
			postMessage: (): void => {
				timer = setTimeout(() => {
					abort.abort(
						new DOMException(`The handler did not finish within ${timeoutMs} ms`, "TimeoutError")
					);
					expire(timedOut(timeoutMs));
				}, timeoutMs);
				this._timers.add(timer);
			}
		};
		try {
			return await Promise.race([
				runner.default(job, abort, started, this._passProgress).then(toOutcome),
				timeout
			]);
		} finally {
			clearTimeout(timer);
			this._timers.delete(timer as NodeJS.Timeout);
		}
	}

	/**
	 * Import the runner, once.
	 * @returns The runner module.
	 * @internal
	 */
	private async load(): Promise<IRunnerModule> {
		this._runner ??= import(HANDLER_WORKER_URL.href) as Promise<IRunnerModule>;
		this._loaded = await this._runner;
		return this._loaded;
	}

	/**
	 * Fire the signal of every handler running, and start none from now on.
	 * @returns The number of jobs in flight.
	 */
	public abortAll(): number {
		this._abortedAll = true;
		const count = this._running.size;
		for (const abort of this._running) {
			abort.abort(new DOMException("The connector is stopping", "AbortError"));
		}
		return count;
	}

	/**
	 * Clear timers; handlers still running inline cannot be stopped (their signals have fired if
	 * abortAll() ran).
	 */
	public async close(): Promise<void> {
		for (const timer of this._timers) {
			clearTimeout(timer);
		}
		this._timers.clear();
	}
}
