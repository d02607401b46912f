// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import { BroadcastChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import type { IHandlerJob } from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";
import { EngineClones, type IEngineCloneRef } from "./engineClones.js";
import { POOL_WORKER_URL } from "./outcomes.js";

/**
 * How long a worker may stay idle before it exits, ms. Workers start when jobs need them and end
 * after this long without one, so a node with no due tasks holds no thread; 30 s keeps them
 * across the gaps of a steady trickle of tasks (a new worker costs a start-up and a fresh import
 * of every handler module).
 */
export const DEFAULT_WORKER_IDLE_TIMEOUT_MS = 30_000;

/**
 * Slots of the shared array in which workers mark the jobs they start (by job number modulo its
 * size): more than the jobs that can be in flight at once (globalLimit, and QUICK_SLOT_DEPTH
 * times as many quick ones: at most 256 workers * 4 * 9 = 9,216).
 */
const STARTED_MARKS = 16_384;

/**
 * Options for the worker pool.
 */
export interface IWorkerPoolOptions {
	/**
	 * Number of worker threads.
	 */
	maxWorkers: number;

	/**
	 * Heap limit of each worker in MB.
	 */
	maxWorkerMemoryMb?: number;

	/**
	 * How long an idle worker lives before it exits, ms; defaults to
	 * DEFAULT_WORKER_IDLE_TIMEOUT_MS.
	 */
	workerIdleTimeout?: number;

	/**
	 * How long a timed-out handler has to end once its signal fired before its worker is
	 * terminated, ms; defaults to DEFAULT_ABORT_GRACE_MS.
	 */
	abortGrace?: number;
}

/**
 * A job as the pool's workers receive it (handlerWorker.cjs): the job's own fields, its number on
 * the abort channel and, with a timeout, the port on which the worker reports the handler's start.
 * Flat rather than a wrapper, since every property and object costs in the structured clone.
 */
export interface IPoolTask extends IHandlerJob {
	/**
	 * The job's number, its key on the abort channel.
	 */
	jobId: number;

	/**
	 * Told when the handler is called.
	 */
	started?: MessagePort;

	/**
	 * The engine clone data by reference (EngineClones), in place of engineCloneData.
	 */
	engineClone?: IEngineCloneRef;
}

/**
 * What the workers send back for a job: the runner's envelope (its progress as JSON text), with
 * how long the job took in the worker, ms (handlerWorker.cjs).
 */
export type WorkerEnvelope = AttemptOutcome & {
	notStarted?: boolean;
	ms?: number;
	progress?: string;
};

/**
 * The threads of one executor: the piscina pool and what its workers share with it through their
 * workerData. That is a BroadcastChannel on which aborts are posted (unref'd, so it never keeps
 * the process alive), a flag set once abortAll() ran, an array in which each worker marks the
 * jobs it starts, and a second BroadcastChannel on which workers post the progress their handlers
 * report (unref'd as well; a worker opens it at its first report). Created by the executor's
 * first job, with no thread until a job needs one.
 */
export class PoolThreads {
	/**
	 * The piscina pool.
	 */
	public readonly pool: Piscina;

	/**
	 * The abort channel every worker of the pool opens.
	 * @internal
	 */
	private readonly _channel: BroadcastChannel;

	/**
	 * The progress channel, on which workers post { taskId, progress }.
	 * @internal
	 */
	private readonly _progress: BroadcastChannel;

	/**
	 * The shared flag, non-zero once abortAll() ran.
	 * @internal
	 */
	private readonly _abortFlag: Int32Array;

	/**
	 * Where workers mark the jobs they start (STARTED_MARKS slots).
	 * @internal
	 */
	private readonly _startedMarks: Int32Array;

	/**
	 * Where abortTask() marks the jobs it aborts (STARTED_MARKS slots), read by a worker before it
	 * starts a job, so that a job aborted while it waits in a message never starts, however late
	 * the worker hears the channel.
	 * @internal
	 */
	private readonly _abortedMarks: Int32Array;

	/**
	 * The number of the last job handed to the pool, its key on the abort channel.
	 * @internal
	 */
	private _jobCount = 0;

	/**
	 * The engine clone data the jobs carry by reference.
	 * @internal
	 */
	private readonly _engineClones = new EngineClones();

	/**
	 * Create the pool; its workers start as jobs need them and exit after the idle timeout.
	 * @param options The pool options.
	 * @param onProgress Where the progress workers post goes: task id and JSON text.
	 */
	constructor(
		options: IWorkerPoolOptions,
		onProgress: (taskId: string, progress: string) => void = ignoreProgress
	) {
		// Unique in the process: a connector started inside a worker has a pool of its own.
		const id = randomUUID();
		const name = `@twin-fast/background-task-connector-entity-storage/abort/${id}`;
		const progressName = `@twin-fast/background-task-connector-entity-storage/progress/${id}`;
		const flag = new SharedArrayBuffer(4);
		const started = new SharedArrayBuffer(4 * STARTED_MARKS);
		const aborted = new SharedArrayBuffer(4 * STARTED_MARKS);
		this._channel = new BroadcastChannel(name);
		this._channel.unref();
		this._progress = new BroadcastChannel(progressName);
		this._progress.onmessage = (event: unknown): void => {
			const message = (event as { data?: { taskId?: unknown; progress?: unknown } }).data;
			if (typeof message?.taskId === "string" && typeof message.progress === "string") {
				onProgress(message.taskId, message.progress);
			}
		};
		this._progress.unref();
		this._abortFlag = new Int32Array(flag);
		this._startedMarks = new Int32Array(started);
		this._abortedMarks = new Int32Array(aborted);
		this.pool = new Piscina({
			filename: POOL_WORKER_URL.href,
			minThreads: 0,
			maxThreads: options.maxWorkers,
			idleTimeout: options.workerIdleTimeout ?? DEFAULT_WORKER_IDLE_TIMEOUT_MS,
			concurrentTasksPerWorker: 1,
			resourceLimits: options.maxWorkerMemoryMb
				? { maxOldGenerationSizeMb: options.maxWorkerMemoryMb }
				: undefined,
			workerData: {
				abortChannel: name,
				abortFlag: flag,
				startedMarks: started,
				abortedMarks: aborted,
				progressChannel: progressName
			}
		});
		// piscina emits "error" on the pool for a worker's reply to a task it already ended (an
		// aborted job's reply racing the abort), and an "error" with no listener throws in the host
		// process. That job's outcome was already given to its caller, so the reply is dropped.
		this.pool.on("error", ignoreStrayReply);
	}

	/**
	 * The number of worker threads (starting, idle or busy).
	 * @returns The count.
	 */
	public get threadCount(): number {
		return this.pool.threads.length;
	}

	/**
	 * Give a job the next number, in place (the job is the runner's own, made for this call, so
	 * numbering it saves a copy), and its engine clone data by reference where it can be.
	 * @param job The job.
	 * @returns The job, numbered.
	 */
	public number(job: IHandlerJob): IPoolTask {
		const task = job as IPoolTask;
		task.jobId = ++this._jobCount;
		if (task.engineCloneData !== undefined) {
			const ref = this._engineClones.refFor(task.engineCloneData);
			if (ref !== undefined) {
				task.engineClone = ref;
				task.engineCloneData = undefined;
			}
		}
		return task;
	}

	/**
	 * Whether a worker marked a job as started.
	 * @param jobId The job's number.
	 * @returns True if its handler was reached.
	 */
	public hasStarted(jobId: number): boolean {
		return Atomics.load(this._startedMarks, jobId % STARTED_MARKS) === (jobId | 0);
	}

	/**
	 * Fire one job's signal, after its timeout.
	 * @param jobId The job's number.
	 * @param timeoutMs The timeout, for the signal's reason.
	 */
	public abortJob(jobId: number, timeoutMs: number): void {
		this._channel.postMessage({ abort: jobId, timeoutMs });
	}

	/**
	 * Fire one job's signal for abort(taskId); a worker that has not registered the job yet
	 * keeps the number, so the handler is not called.
	 * @param jobId The job's number.
	 * @param reason The reason, the signal's message.
	 */
	public abortTask(jobId: number, reason: string): void {
		// The mark first, as abortAll's flag: the channel's message reaches a worker on a later
		// turn of its event loop, which may start the job (the next in its message) before it.
		Atomics.store(this._abortedMarks, jobId % STARTED_MARKS, jobId | 0);
		this._channel.postMessage({ abort: jobId, reason });
	}

	/**
	 * Fire every running job's signal, and have every worker start no handler from now on.
	 */
	public abortAll(): void {
		// The flag first: a worker that registers a job after the message was posted sees it.
		Atomics.store(this._abortFlag, 0, 1);
		this._channel.postMessage({ abortAll: true });
	}

	/**
	 * Terminate every worker and close the abort channel.
	 */
	public async destroy(): Promise<void> {
		await this.pool.destroy();
		this._channel.close();
		this._progress.close();
	}
}

/**
 * Drops an error piscina reports on the pool rather than on a job: its job already has an outcome.
 */
function ignoreStrayReply(): void {}

/**
 * Drops progress when nobody listens for it.
 */
function ignoreProgress(): void {}
