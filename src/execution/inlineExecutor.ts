// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AttemptOutcome } from "../domain/rules.js";
import { isPlainObject } from "../domain/jsonValue.js";
import {
	ABORTED_ERROR_NAME,
	abortedOutcome,
	DEFAULT_ABORT_GRACE_MS,
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
 * A job in run(): its task, and how to end its run early once abort() gave up waiting for it.
 */
interface IInlineRun {
	/**
	 * The task's storage id, when the job has one.
	 */
	taskId?: string;

	/**
	 * End the run with this outcome, the handler left running.
	 */
	abandon?: (outcome: AttemptOutcome) => void;
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
 * calls process.exit ends the host. Its context's signal fires on the timeout, on abortAll() and
 * on abort(taskId), which is all that can end it early; a handler that ignores abort(taskId) is
 * abandoned abortGrace later, as a timed-out one is.
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
	private readonly _running = new Map<IJobAbort, IInlineRun>();

	/**
	 * Create the executor.
	 * @param abortGrace How long a handler stopped by abort(taskId) has to end before its run is
	 * abandoned, ms.
	 */
	constructor(private readonly abortGrace: number = DEFAULT_ABORT_GRACE_MS) {}

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
		if (isPlainObject(job.engineCloneData)) {
			// The jobs of a millisecond share one clone data (handlerJob.ts): the handler gets a
			// top-level object of its own, as a call of the engine would give it.
			job.engineCloneData = { ...job.engineCloneData };
		}
		const abort = new runner.JobAbort();
		const run: IInlineRun = { taskId: job.taskId };
		this._running.set(abort, run);
		const ended = (outcome: AttemptOutcome): AttemptOutcome => {
			this._running.delete(abort);
			return outcome;
		};
		const failed = (err: unknown): never => {
			this._running.delete(abort);
			throw err;
		};
		const result =
			timeoutMs === undefined
				? runner
						.default(job, abort, undefined, this._passProgress)
						.then(envelope => ended(toOutcome(envelope)), failed)
				: this.withTimeout(runner, job, abort, timeoutMs).then(ended, failed);
		if (job.taskId === undefined) {
			return result;
		}
		// A task's run may be abandoned by abort(taskId) before its handler ends.
		return new Promise<AttemptOutcome>((resolve, reject) => {
			run.abandon = resolve;
			result.then(resolve, reject);
		});
	}

	/**
	 * Fire the signal of the handler running for a task; abortGrace later, if it has not ended,
	 * its run is abandoned with an aborted outcome (the handler is left running, as a timed-out
	 * one is).
	 * @param taskId The task's storage id.
	 * @param reason The reason.
	 * @returns True when a job of the task was running here.
	 */
	public abort(taskId: string, reason: string): boolean {
		for (const [abort, run] of this._running) {
			if (run.taskId === taskId) {
				abort.abort(new DOMException(reason, ABORTED_ERROR_NAME));
				const timer = setTimeout(() => {
					this._timers.delete(timer);
					if (this._running.get(abort) === run) {
						this._running.delete(abort);
						run.abandon?.(abortedOutcome(reason));
					}
				}, this.abortGrace);
				this._timers.add(timer);
				return true;
			}
		}
		return false;
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
		for (const abort of this._running.keys()) {
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
