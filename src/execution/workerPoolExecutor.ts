// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
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
	 * Create the pool; its threads start at once so the first task does not wait for one.
	 * @param options The pool options.
	 */
	constructor(private readonly options: IWorkerPoolOptions) {
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
		const abort = timeoutMs === undefined ? undefined : new AbortController();
		const timer = abort ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
		try {
			return fromEnvelope(await this._pool.run(job, { signal: abort?.signal }));
		} catch (err) {
			if (abort?.signal.aborted) {
				return timedOut(timeoutMs as number);
			}
			return this.workerFailure(err);
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * Terminate every worker.
	 */
	public async close(): Promise<void> {
		await this._pool.destroy();
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
