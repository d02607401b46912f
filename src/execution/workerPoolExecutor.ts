// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import type { AttemptOutcome } from "../scheduling/rules.js";
import type { IHandlerJob, ITaskExecutor } from "./ITaskExecutor.js";
import { failure, fromEnvelope, HANDLER_WORKER_URL, timedOut } from "./outcomes.js";

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
}

/**
 * Runs handlers in a pool of reused worker threads (piscina). A handler that times out is stopped
 * by terminating its worker, which the pool replaces; a worker that exits or runs out of memory
 * fails only the attempt it was running.
 */
export class WorkerPoolExecutor implements ITaskExecutor {
	/**
	 * The pool.
	 * @internal
	 */
	private readonly _pool: Piscina;

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
	 * Create the pool; its threads start at once so the first task does not wait for one.
	 * @param options The pool options.
	 */
	constructor(private readonly options: IWorkerPoolOptions) {
		this._free = options.maxWorkers;
		this._pool = new Piscina({
			filename: HANDLER_WORKER_URL.href,
			minThreads: options.maxWorkers,
			maxThreads: options.maxWorkers,
			idleTimeout: Number.MAX_SAFE_INTEGER,
			concurrentTasksPerWorker: 1,
			resourceLimits: options.maxWorkerMemoryMb
				? { maxOldGenerationSizeMb: options.maxWorkerMemoryMb }
				: undefined
		});
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
			return await this.runInWorker(job, timeoutMs);
		} finally {
			this.releaseWorker();
		}
	}

	/**
	 * Terminate every worker; jobs still waiting for one are let through and fail.
	 */
	public async close(): Promise<void> {
		this._free = Number.POSITIVE_INFINITY;
		for (const wake of this._waiting.splice(0)) {
			wake();
		}
		await this._pool.destroy();
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
	 * @param job The call.
	 * @param timeoutMs Terminate the worker after this long and fail the attempt.
	 * @returns The outcome.
	 * @internal
	 */
	private async runInWorker(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		if (timeoutMs === undefined) {
			try {
				return fromEnvelope(await this._pool.run(job));
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
				await this._pool.run(
					{ ...job, started: port2 },
					{ signal: abort.signal, transferList: [port2] }
				)
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
