// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import { BroadcastChannel, MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import type { AttemptOutcome } from "../scheduling/rules.js";
import {
	DEFAULT_ABORT_GRACE_MS,
	NOT_STARTED,
	type IHandlerJob,
	type ITaskExecutor
} from "./ITaskExecutor.js";
import { failure, fromEnvelope, POOL_WORKER_URL, timedOut } from "./outcomes.js";

/**
 * How long a worker may stay idle before it exits, ms. Workers start when jobs need them and end
 * after this long without one, so a node with no due tasks holds no thread; 30 s keeps them
 * across the gaps of a steady trickle of tasks (a new worker costs tens of ms and a fresh import
 * of every handler module).
 */
export const DEFAULT_WORKER_IDLE_TIMEOUT_MS = 30_000;

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
interface IPoolTask extends IHandlerJob {
	/**
	 * The job's number, its key on the abort channel.
	 */
	jobId: number;

	/**
	 * Told when the handler is called.
	 */
	started?: MessagePort;
}

/**
 * The abort side of one pool: a BroadcastChannel every worker of the pool opens, named in the
 * workers' workerData, and a flag shared with them that is set once stop() aborts everything.
 */
interface IAbortChannel {
	/**
	 * The channel, unref'd (it never keeps the process alive) and closed with the pool.
	 */
	channel: BroadcastChannel;

	/**
	 * The shared flag, non-zero once abortAll() ran.
	 */
	flag: Int32Array;
}

/**
 * Runs handlers in a pool of reused worker threads (piscina). A handler that times out has its
 * context's signal fired, and abortGrace to end; if it has not ended by then its worker is
 * terminated, and the pool replaces it. Either way the attempt fails with the timeout error. A
 * worker that exits or runs out of memory fails only the attempt it was running.
 *
 * The signals reach the workers on one BroadcastChannel per pool (see handlerWorker.cjs): a job
 * carries only its number, and a message is posted only to abort, so a job that ends normally
 * costs nothing more. (A MessageChannel per job, the other way to reach one worker, was measured
 * at about twice the executor's whole cost per job: it is what the timeout path already pays.)
 *
 * No thread exists before it is needed: the pool is created by the first run(), starts workers as
 * jobs need them (up to maxWorkers) and lets each exit after the idle timeout. Inside a TWIN
 * engine every handler's worker rebuilds the engine, and so constructs and starts its own copy of
 * this connector; those copies hold no thread unless they run a task themselves.
 */
export class WorkerPoolExecutor implements ITaskExecutor {
	/**
	 * The pool, created by the first run().
	 * @internal
	 */
	private _pool?: Piscina;

	/**
	 * Set by close(): no pool is created after it.
	 * @internal
	 */
	private _closed = false;

	/**
	 * Workers not running one of our jobs. Jobs are handed to the pool only when a worker is free
	 * (never left in piscina's own queue), so a job's timeout measures its handler's run and not
	 * the time it waited for a worker: a job queued behind a long handler used to fail with a
	 * timeout error without ever starting.
	 * @internal
	 */
	private _free: number;

	/**
	 * Jobs waiting for a free worker, first come first served.
	 * @internal
	 */
	private readonly _waiting: (() => void)[] = [];

	/**
	 * The pool's abort channel, created with the pool.
	 * @internal
	 */
	private _abort?: IAbortChannel;

	/**
	 * Set by abortAll(): no handler starts after it.
	 * @internal
	 */
	private _abortedAll = false;

	/**
	 * Jobs in run(), waiting for a worker or running.
	 * @internal
	 */
	private _inFlight = 0;

	/**
	 * The number of the last job handed to the pool, its key on the abort channel.
	 * @internal
	 */
	private _jobCount = 0;

	/**
	 * Create the executor; the pool and its threads are created when the first job runs.
	 * @param options The pool options.
	 */
	constructor(private readonly options: IWorkerPoolOptions) {
		this._free = options.maxWorkers;
	}

	/**
	 * The number of worker threads the pool holds now (starting, idle or busy).
	 * @internal
	 */
	public get threadCount(): number {
		return this._pool?.threads.length ?? 0;
	}

	/**
	 * Run one handler call in a worker.
	 * @param job The call.
	 * @param timeoutMs Terminate the worker after this long and fail the attempt.
	 * @returns The outcome.
	 */
	public async run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		this._inFlight++;
		try {
			await this.acquireWorker();
			try {
				const pool = this.pool();
				if (!pool) {
					return this.workerFailure(new Error("the worker pool is closed"));
				}
				if (this._abortedAll) {
					return NOT_STARTED;
				}
				return await this.runInWorker(pool, job, timeoutMs);
			} finally {
				this.releaseWorker();
			}
		} finally {
			this._inFlight--;
		}
	}

	/**
	 * Fire every running handler's signal, and start no handler from now on: a job that has not
	 * reached its handler (waiting for a worker, or for its worker to start or import the module)
	 * ends with NOT_STARTED.
	 * @returns The number of jobs in flight.
	 */
	public abortAll(): number {
		this._abortedAll = true;
		if (this._abort) {
			// The flag first: a worker that registers a job after the message was posted sees it.
			Atomics.store(this._abort.flag, 0, 1);
			this._abort.channel.postMessage({ abortAll: true });
		}
		return this._inFlight;
	}

	/**
	 * Terminate every worker; jobs still waiting for one are let through and fail. No pool is
	 * created after this, so a run() racing close() leaves no thread behind.
	 */
	public async close(): Promise<void> {
		this._closed = true;
		this._free = Number.POSITIVE_INFINITY;
		for (const wake of this._waiting.splice(0)) {
			wake();
		}
		const pool = this._pool;
		this._pool = undefined;
		const abort = this._abort;
		this._abort = undefined;
		await pool?.destroy();
		abort?.channel.close();
	}

	/**
	 * The pool, created on first use: no thread starts before a job needs one, and idle workers
	 * exit after the idle timeout.
	 * @returns The pool, or undefined once closed.
	 * @internal
	 */
	private pool(): Piscina | undefined {
		if (this._closed) {
			return undefined;
		}
		if (!this._pool) {
			// Unique in the process: a connector started inside a worker has a pool of its own.
			const name = `@twin-fast/background-task-connector-entity-storage/abort/${randomUUID()}`;
			const flag = new SharedArrayBuffer(4);
			const channel = new BroadcastChannel(name);
			channel.unref();
			this._abort = { channel, flag: new Int32Array(flag) };
			this._pool = new Piscina({
				filename: POOL_WORKER_URL.href,
				minThreads: 0,
				maxThreads: this.options.maxWorkers,
				idleTimeout: this.options.workerIdleTimeout ?? DEFAULT_WORKER_IDLE_TIMEOUT_MS,
				concurrentTasksPerWorker: 1,
				resourceLimits: this.options.maxWorkerMemoryMb
					? { maxOldGenerationSizeMb: this.options.maxWorkerMemoryMb }
					: undefined,
				workerData: { abortChannel: name, abortFlag: flag }
			});
		}
		return this._pool;
	}

	/**
	 * Wait for a free worker and take it.
	 * @internal
	 */
	private async acquireWorker(): Promise<void> {
		if (this._free > 0) {
			this._free--;
			return;
		}
		await new Promise<void>(resolve => this._waiting.push(resolve));
	}

	/**
	 * Give a worker back: to the next waiting job, else to the free count.
	 * @internal
	 */
	private releaseWorker(): void {
		const next = this._waiting.shift();
		if (next) {
			next();
		} else {
			this._free++;
		}
	}

	/**
	 * Run one handler call in a free worker, with its timeout.
	 *
	 * The timeout counts from the moment the worker calls the handler, which the worker reports on
	 * a message port sent with the job: a worker replacing one that was terminated (a timeout, a
	 * crash) takes a while to start and to import the handler's module, and that must not be
	 * charged to the handler, which would otherwise fail with a timeout error before it ever ran.
	 * (A module whose import never finishes is therefore not timed out; stop() still ends it.)
	 *
	 * When the timeout passes, the handler's signal fires; a handler that ends within abortGrace
	 * keeps its worker, one that does not has it terminated. The attempt fails with the timeout
	 * error either way.
	 * @param pool The pool.
	 * @param job The call.
	 * @param timeoutMs Fail the attempt after this long, and terminate the worker abortGrace later.
	 * @returns The outcome.
	 * @internal
	 */
	private async runInWorker(
		pool: Piscina,
		job: IHandlerJob,
		timeoutMs?: number
	): Promise<AttemptOutcome> {
		// The job is the runner's own, made for this call: numbering it in place saves a copy.
		const task = job as IPoolTask;
		const jobId = ++this._jobCount;
		task.jobId = jobId;
		if (timeoutMs === undefined) {
			try {
				return this.fromWorker(await pool.run(task));
			} catch (err) {
				return this.workerFailure(err);
			}
		}
		const terminate = new AbortController();
		const { port1, port2 } = new MessageChannel();
		task.started = port2;
		let timer: NodeJS.Timeout | undefined;
		let settled = false;
		let expired = false;
		const grace = this.options.abortGrace ?? DEFAULT_ABORT_GRACE_MS;
		port1.once("message", () => {
			if (!settled) {
				timer = setTimeout(() => {
					expired = true;
					this._abort?.channel.postMessage({ abort: jobId, timeoutMs });
					timer = setTimeout(() => terminate.abort(), grace);
				}, timeoutMs);
			}
		});
		try {
			const envelope = await pool.run(task, {
				signal: terminate.signal,
				transferList: [port2]
			});
			return expired ? timedOut(timeoutMs) : this.fromWorker(envelope);
		} catch (err) {
			if (expired) {
				return timedOut(timeoutMs);
			}
			return this.workerFailure(err);
		} finally {
			settled = true;
			clearTimeout(timer);
			port1.close();
		}
	}

	/**
	 * The outcome of the worker's envelope.
	 * @param envelope The envelope.
	 * @returns The outcome, NOT_STARTED when the worker did not call the handler after abortAll().
	 * @internal
	 */
	private fromWorker(envelope: AttemptOutcome & { notStarted?: boolean }): AttemptOutcome {
		return envelope.notStarted ? NOT_STARTED : fromEnvelope(envelope);
	}

	/**
	 * Describe a failure of the worker itself (not of the handler).
	 * @param err The pool's error.
	 * @returns The outcome.
	 * @internal
	 */
	private workerFailure(err: unknown): AttemptOutcome {
		const message = err instanceof Error ? err.message : String(err);
		if ((err as { code?: string })?.code === "ERR_WORKER_OUT_OF_MEMORY") {
			return failure(
				"OutOfMemoryError",
				`The handler ran out of memory (worker heap limit ${this.options.maxWorkerMemoryMb ?? "default"} MB); the worker was replaced`
			);
		}
		return failure("WorkerError", `The worker running the handler failed: ${message}`);
	}
}
