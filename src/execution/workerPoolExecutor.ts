// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import {
	DEFAULT_ABORT_GRACE_MS,
	NOT_STARTED,
	type IHandlerJob,
	type ISlotDepthHandler,
	type ITaskExecutor,
	type ProgressListener
} from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";
import { fromWorker, timedOut, workerFailure } from "./outcomes.js";
import { PoolThreads, type IPoolTask, type IWorkerPoolOptions } from "./poolThreads.js";
import { QUICK_SLOT_DEPTH, QuickJobs, type IQuickEntry } from "./quickJobs.js";
import { TaskAborts, Terminator, type IPoolRun } from "./taskAborts.js";
import { runTimed, runUntimed } from "./timedRun.js";
import { WorkerSlots } from "./workerSlots.js";

export { DEFAULT_WORKER_IDLE_TIMEOUT_MS, type IWorkerPoolOptions } from "./poolThreads.js";
export {
	MAX_JOBS_PER_MESSAGE,
	MESSAGE_BUDGET_MS,
	QUICK_HANDLER_MS,
	QUICK_SLOT_DEPTH
} from "./quickJobs.js";

/**
 * The executor's lifecycle: open until abortAll() (aborted: no handler starts any more) or
 * close() (closed: no thread is created any more, every job fails).
 */
type ExecutorPhase = "open" | "aborted" | "closed";

/**
 * Runs handlers in a pool of reused worker threads (piscina). A handler that times out has its
 * context's signal fired, and abortGrace to end; if it has not ended by then its worker is
 * terminated, and the pool replaces it. Either way the attempt fails with the timeout error. A
 * worker that exits or runs out of memory fails only the attempt it was running.
 *
 * The signals reach the workers on one BroadcastChannel per pool (see handlerWorker.cjs): a job
 * carries only its number, and a message is posted only to abort, so a job that ends normally
 * costs nothing more.
 *
 * A quick handler's jobs (under QUICK_HANDLER_MS on average, no timeout) go to a worker up to
 * MAX_JOBS_PER_MESSAGE in one message and run there one after the other (QuickJobs).
 *
 * No thread exists before it is needed: the pool is created by the first run(), starts workers as
 * jobs need them (up to maxWorkers) and lets each exit after the idle timeout. Inside a TWIN
 * engine every handler's worker rebuilds the engine, and so constructs and starts its own copy of
 * this connector; those copies hold no thread unless they run a task themselves.
 */
export class WorkerPoolExecutor implements ITaskExecutor {
	/**
	 * Where the executor is in its lifecycle; changed only by abortAll() and close().
	 * @internal
	 */
	private _phase: ExecutorPhase = "open";

	/**
	 * The pool's threads, created by the first job that reaches a worker while not closed.
	 * @internal
	 */
	private _threads?: PoolThreads;

	/**
	 * Jobs of quick handlers waiting to be sent, and the handlers' costs.
	 * @internal
	 */
	private readonly _quick = new QuickJobs();

	/**
	 * The free workers and the jobs waiting for one, in order of arrival with the quick jobs.
	 * @internal
	 */
	private readonly _slots: WorkerSlots;

	/**
	 * A dispatch of quick jobs is scheduled (a microtask).
	 * @internal
	 */
	private _dispatching = false;

	/**
	 * Jobs in run(), waiting for a worker or running.
	 * @internal
	 */
	private _inFlight = 0;

	/**
	 * Where handlers' progress goes.
	 * @internal
	 */
	private _progress?: ProgressListener;

	/**
	 * The jobs running a task, for abort(taskId).
	 * @internal
	 */
	private readonly _aborts: TaskAborts;

	/**
	 * Create the executor; the pool and its threads are created when the first job runs.
	 * @param options The pool options.
	 */
	constructor(private readonly options: IWorkerPoolOptions) {
		this._slots = new WorkerSlots(options.maxWorkers, this._quick, () => this.sendQuick());
		this._aborts = new TaskAborts(options.abortGrace ?? DEFAULT_ABORT_GRACE_MS, (jobId, reason) =>
			this._threads?.abortTask(jobId, reason)
		);
	}

	/**
	 * Send handlers' progress, which the workers post on the pool's progress channel, to a listener.
	 * @param listener The listener.
	 */
	public setProgressListener(listener: ProgressListener): void {
		this._progress = listener;
	}

	/**
	 * How many runs of a handler may be in flight for each slot of its type: QUICK_SLOT_DEPTH for a
	 * quick handler without a timeout, whatever its concurrency, else 1. Such a type's jobs then
	 * always go in messages, at most its concurrency of them in workers at once (MessageLimits),
	 * and a message runs its jobs one after the other in the order they began, so its calls
	 * running at once stay within its concurrency (at 1, in the type's order) however many of its
	 * runs wait in messages; each wake-up of a worker then carries up to that many more jobs
	 * (docs/design.md, "Quick jobs queued in a worker").
	 * @param handler The handler and its type's limits.
	 * @param type The task type.
	 * @returns The runs a slot.
	 */
	public slotDepth(handler: ISlotDepthHandler, type: string): number {
		if (this._phase !== "open" || handler.timeout !== undefined || !this._quick.isQuick(handler)) {
			return 1;
		}
		this._quick.limits.limit(type, handler.concurrency);
		return QUICK_SLOT_DEPTH;
	}

	/**
	 * The number of worker threads the pool holds now (starting, idle or busy).
	 * @internal
	 */
	public get threadCount(): number {
		return this._threads?.threadCount ?? 0;
	}

	/**
	 * Run one handler call in a worker.
	 * @param job The call.
	 * @param timeoutMs Terminate the worker after this long and fail the attempt.
	 * @returns The outcome.
	 */
	public run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		const taskId = job.taskId;
		return taskId === undefined
			? this.runJob(job, timeoutMs)
			: this._aborts.track(taskId, job as IPoolTask, async entry =>
					this.runJob(job, timeoutMs, entry)
				);
	}

	/**
	 * Fire the signal of the handler running for a task; abortGrace later, if it has not ended,
	 * its worker is terminated (a job sent alone) and its run ends with an aborted outcome.
	 * @param taskId The task's storage id.
	 * @param reason The reason.
	 * @returns True when a job of the task was here.
	 */
	public abort(taskId: string, reason: string): boolean {
		return this._aborts.abort(taskId, reason);
	}

	/**
	 * The body of run().
	 * @param job The call.
	 * @param timeoutMs The timeout.
	 * @param entry The job's record for abort(taskId), when it runs a task.
	 * @returns The outcome.
	 * @internal
	 */
	private async runJob(
		job: IHandlerJob,
		timeoutMs?: number,
		entry?: IPoolRun
	): Promise<AttemptOutcome> {
		this._inFlight++;
		try {
			if (
				timeoutMs === undefined &&
				this._phase === "open" &&
				(this._quick.isQuick(job) || this._quick.limits.isLimited(job.type))
			) {
				return await new Promise<AttemptOutcome>(resolve => {
					this._quick.push({ job: job as IQuickEntry["job"], seq: this._slots.arrive(), resolve });
					this.scheduleDispatch();
				});
			}
			await this._slots.acquire();
			try {
				const threads = this.threads();
				if (!threads) {
					return this.closedFailure();
				}
				if (this._phase === "aborted" || entry?.reason !== undefined) {
					// stop() or abort(taskId) came first: the handler is not called.
					return NOT_STARTED;
				}
				return await this.runAlone(threads, job, timeoutMs, entry);
			} finally {
				this._slots.release();
			}
		} finally {
			this._inFlight--;
		}
	}

	/**
	 * Fire every running handler's signal, and start no handler from now on: a job that has not
	 * reached its handler (waiting for a worker, or for its worker to start or import the module)
	 * ends with NOT_STARTED. Does nothing once closed.
	 * @returns The number of jobs in flight.
	 */
	public abortAll(): number {
		if (this._phase !== "closed") {
			this.enter("aborted", ["open", "aborted"]);
			// Quick jobs not sent yet never reach their handler.
			for (const entry of this._quick.drain()) {
				entry.resolve(NOT_STARTED);
			}
			this._threads?.abortAll();
		}
		return this._inFlight;
	}

	/**
	 * Terminate every worker; jobs still waiting for one are let through and fail. No pool is
	 * created after this, so a run() racing close() leaves no thread behind.
	 */
	public async close(): Promise<void> {
		if (this._phase === "closed") {
			return;
		}
		this.enter("closed", ["open", "aborted"]);
		this._aborts.clear();
		this._slots.unlimit();
		for (const entry of this._quick.drain()) {
			entry.resolve(this.closedFailure());
		}
		const threads = this._threads;
		this._threads = undefined;
		await threads?.destroy();
	}

	/**
	 * Move to a phase, asserting the phase it leaves.
	 * @param phase The new phase.
	 * @param from The phases it may be entered from.
	 * @throws Error on any other transition, a bug in this class.
	 * @internal
	 */
	private enter(phase: ExecutorPhase, from: ExecutorPhase[]): void {
		if (!from.includes(this._phase)) {
			throw new Error(`WorkerPoolExecutor: unexpected transition ${this._phase} -> ${phase}`);
		}
		this._phase = phase;
	}

	/**
	 * The pool's threads, created on first use: no thread starts before a job needs one, and
	 * idle workers exit after the idle timeout.
	 * @returns The threads, or undefined once closed.
	 * @internal
	 */
	private threads(): PoolThreads | undefined {
		if (this._phase === "closed") {
			return undefined;
		}
		this._threads ??= new PoolThreads(this.options, (taskId, progress) =>
			this._progress?.(taskId, progress)
		);
		return this._threads;
	}

	/**
	 * Send the quick jobs waiting once the microtasks queued so far have run, so the jobs started
	 * together (a pump filling its slots, the runs that one message's outcomes freed) share a
	 * message. A microtask rather than the next turn of the event loop: that turn first runs the
	 * other I/O callbacks waiting (claims, settles), and the worker would wait behind them.
	 * @internal
	 */
	private scheduleDispatch(): void {
		if (this._dispatching || !this._slots.anyFree) {
			return;
		}
		this._dispatching = true;
		queueMicrotask(() => {
			this._dispatching = false;
			while (this._quick.first !== undefined && this._slots.takeFree()) {
				this.sendQuick();
			}
		});
	}

	/**
	 * Send the next message of waiting quick jobs to a worker taken for them. They are not spread
	 * over the free workers: waking a waiting worker costs more than a quick job's run, so fewer,
	 * fuller messages win; more waiting jobs than one message holds go to the next free worker.
	 * @internal
	 */
	private sendQuick(): void {
		const entries = this._quick.takeMessage();
		const threads = this.threads();
		if (entries.length === 0 || !threads || this._phase === "aborted") {
			this._quick.messageEnded(entries);
			for (const entry of entries) {
				entry.resolve(threads ? NOT_STARTED : this.closedFailure());
			}
			this._slots.release();
			return;
		}
		this._quick
			.send(
				threads,
				entries,
				() => this._phase === "open",
				err => this.workerFailure(err)
			)
			.finally(() => {
				this._slots.release();
				if (this._quick.limits.held()) {
					// Jobs their type's limit held back may go now, to other free workers too.
					this.scheduleDispatch();
				}
			});
	}

	/**
	 * Run one handler call alone in a free worker, with its timeout if it has one (runTimed).
	 * @param threads The pool's threads.
	 * @param job The call.
	 * @param timeoutMs Fail the attempt after this long, and terminate the worker abortGrace later.
	 * @param entry The job's record for abort(taskId), which gets the job's terminator.
	 * @returns The outcome.
	 * @internal
	 */
	private async runAlone(
		threads: PoolThreads,
		job: IHandlerJob,
		timeoutMs?: number,
		entry?: IPoolRun
	): Promise<AttemptOutcome> {
		const task = threads.number(job);
		const terminator = entry ? (entry.terminator = new Terminator()) : undefined;
		const answer =
			timeoutMs === undefined
				? await runUntimed(threads, task, terminator)
				: await runTimed(
						threads,
						task,
						timeoutMs,
						this.options.abortGrace ?? DEFAULT_ABORT_GRACE_MS,
						() => this._threads?.abortJob(task.jobId, timeoutMs),
						terminator
					);
		if (answer.kind === "timedOut") {
			return timedOut(timeoutMs as number);
		}
		if (answer.kind === "failed") {
			return this.workerFailure(answer.error);
		}
		this._quick.learn(task, answer.envelope);
		return fromWorker(answer.envelope);
	}

	/**
	 * Describe a failure of the worker itself (not of the handler).
	 * @param err The pool's error.
	 * @returns The outcome.
	 * @internal
	 */
	private workerFailure(err: unknown): AttemptOutcome {
		return workerFailure(err, this.options.maxWorkerMemoryMb);
	}

	/**
	 * The failure of a job that reaches the pool after close().
	 * @returns The outcome.
	 * @internal
	 */
	private closedFailure(): AttemptOutcome {
		return this.workerFailure(new Error("the worker pool is closed"));
	}
}
