// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import type { AttemptOutcome } from "../scheduling/rules.js";
import type { IHandlerJob, ITaskExecutor } from "./ITaskExecutor.js";
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
}

/**
 * Runs handlers in a pool of reused worker threads (piscina). A handler that times out is stopped
 * by terminating its worker, which the pool replaces; a worker that exits or runs out of memory
 * fails only the attempt it was running.
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
		await this.acquireWorker();
		try {
			const pool = this.pool();
			if (!pool) {
				return this.workerFailure(new Error("the worker pool is closed"));
			}
			return await this.runInWorker(pool, job, timeoutMs);
		} finally {
			this.releaseWorker();
		}
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
		await pool?.destroy();
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
		this._pool ??= new Piscina({
			filename: POOL_WORKER_URL.href,
			minThreads: 0,
			maxThreads: this.options.maxWorkers,
			idleTimeout: this.options.workerIdleTimeout ?? DEFAULT_WORKER_IDLE_TIMEOUT_MS,
			concurrentTasksPerWorker: 1,
			resourceLimits: this.options.maxWorkerMemoryMb
				? { maxOldGenerationSizeMb: this.options.maxWorkerMemoryMb }
				: undefined
		});
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
	 * @param pool The pool.
	 * @param job The call.
	 * @param timeoutMs Terminate the worker after this long and fail the attempt.
	 * @returns The outcome.
	 * @internal
	 */
	private async runInWorker(
		pool: Piscina,
		job: IHandlerJob,
		timeoutMs?: number
	): Promise<AttemptOutcome> {
		if (timeoutMs === undefined) {
			try {
				return fromEnvelope(await pool.run(job));
			} catch (err) {
				return this.workerFailure(err);
			}
		}
		const abort = new AbortController();
		const { port1, port2 } = new MessageChannel();
		let timer: NodeJS.Timeout | undefined;
		let settled = false;
		port1.once("message", () => {
			if (!settled) {
				timer = setTimeout(() => abort.abort(), timeoutMs);
			}
		});
		try {
			return fromEnvelope(
				await pool.run({ ...job, started: port2 }, { signal: abort.signal, transferList: [port2] })
			);
		} catch (err) {
			if (abort.signal.aborted) {
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
