// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import { BroadcastChannel, MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import type { AttemptOutcome } from "../domain/rules.js";
import {
	DEFAULT_ABORT_GRACE_MS,
	NOT_STARTED,
	type IHandlerJob,
	type ITaskExecutor
} from "../contracts/ITaskExecutor.js";
import { failure, fromEnvelope, POOL_WORKER_URL, timedOut } from "./outcomes.js";

/**
 * How long a worker may stay idle before it exits, ms. Workers start when jobs need them and end
 * after this long without one, so a node with no due tasks holds no thread; 30 s keeps them
 * across the gaps of a steady trickle of tasks (a new worker costs tens of ms and a fresh import
 * of every handler module).
 */
export const DEFAULT_WORKER_IDLE_TIMEOUT_MS = 30_000;

/**
 * A handler whose calls take less than this on average, ms, is quick: its jobs may be sent to a
 * worker several in one message (see WorkerPoolExecutor).
 */
export const QUICK_HANDLER_MS = 1;

/**
 * The most jobs sent to a worker in one message.
 */
export const MAX_JOBS_PER_MESSAGE = 8;

/**
 * The expected run time of one message's jobs, ms: a message holds no more of a handler's jobs
 * than fit in it by the handler's average (at least one), so jobs of a handler near
 * QUICK_HANDLER_MS are not queued behind each other in one worker while another is free.
 */
export const MESSAGE_BUDGET_MS = 1;

/**
 * Slots of the shared array in which workers mark the jobs they start (by job number modulo its
 * size): far more than the jobs that can be in flight at once (globalLimit).
 */
const STARTED_MARKS = 4096;

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
/**
 * A job of a quick handler waiting to be sent.
 */
interface IQuickEntry {
	/**
	 * The job.
	 */
	job: IPoolTask;

	/**
	 * Its place in the order of arrival among all waiting jobs.
	 */
	seq: number;

	/**
	 * Resolves run().
	 */
	resolve: (outcome: AttemptOutcome) => void;

	/**
	 * Send it alone: it was in a message whose worker died before it started.
	 */
	alone?: boolean;
}

/**
 * What the workers send back for a job: the runner's envelope, with how long the job took in the
 * worker, ms (handlerWorker.cjs).
 */
type WorkerEnvelope = AttemptOutcome & { notStarted?: boolean; ms?: number };

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
 * A quick handler's jobs (under QUICK_HANDLER_MS on average, no timeout) go to a worker up to
 * MAX_JOBS_PER_MESSAGE in one message and run there one after the other, since waking a waiting
 * worker costs more than such a job (docs/design.md, "Several quick jobs in one message").
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
	 * Jobs waiting for a free worker to be sent alone (timeouts, handlers not known to be quick),
	 * with their place in the order of arrival.
	 * @internal
	 */
	private readonly _waiting: { seq: number; wake: () => void }[] = [];

	/**
	 * Jobs of quick handlers waiting to be sent, first come first served.
	 * @internal
	 */
	private readonly _quick: IQuickEntry[] = [];

	/**
	 * Arrivals so far, which orders _waiting and _quick against each other.
	 * @internal
	 */
	private _seq = 0;

	/**
	 * A dispatch of quick jobs is scheduled (setImmediate).
	 * @internal
	 */
	private _dispatching = false;

	/**
	 * The average time each handler's calls take in a worker, ms, by module then method: an
	 * exponential moving average of the times the workers report.
	 * @internal
	 */
	private readonly _costs = new Map<string, Map<string, number>>();

	/**
	 * Where workers mark the jobs they start (STARTED_MARKS slots), created with the pool.
	 * @internal
	 */
	private _started?: Int32Array;

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
			if (timeoutMs === undefined && this.isQuick(job) && !this._closed && !this._abortedAll) {
				return await new Promise<AttemptOutcome>(resolve => {
					this._quick.push({ job: job as IPoolTask, seq: this._seq++, resolve });
					this.scheduleDispatch();
				});
			}
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
		// Quick jobs not sent yet never reach their handler.
		for (const entry of this._quick.splice(0)) {
			entry.resolve(NOT_STARTED);
		}
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
		for (const { wake } of this._waiting.splice(0)) {
			wake();
		}
		for (const entry of this._quick.splice(0)) {
			entry.resolve(this.workerFailure(new Error("the worker pool is closed")));
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
			const started = new SharedArrayBuffer(4 * STARTED_MARKS);
			const channel = new BroadcastChannel(name);
			channel.unref();
			this._abort = { channel, flag: new Int32Array(flag) };
			this._started = new Int32Array(started);
			this._pool = new Piscina({
				filename: POOL_WORKER_URL.href,
				minThreads: 0,
				maxThreads: this.options.maxWorkers,
				idleTimeout: this.options.workerIdleTimeout ?? DEFAULT_WORKER_IDLE_TIMEOUT_MS,
				concurrentTasksPerWorker: 1,
				resourceLimits: this.options.maxWorkerMemoryMb
					? { maxOldGenerationSizeMb: this.options.maxWorkerMemoryMb }
					: undefined,
				workerData: { abortChannel: name, abortFlag: flag, startedMarks: started }
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
		await new Promise<void>(resolve => this._waiting.push({ seq: this._seq++, wake: resolve }));
	}

	/**
	 * Give a worker back: to the next waiting job, else to the free count.
	 * @internal
	 */
	private releaseWorker(): void {
		// The worker goes to whichever waited longest: a job to send alone or quick jobs.
		const alone = this._waiting[0];
		const quick = this._quick[0];
		if (alone && (!quick || alone.seq < quick.seq)) {
			this._waiting.shift();
			alone.wake();
		} else if (quick) {
			this.sendQuick();
		} else {
			this._free++;
		}
	}

	/**
	 * Whether a handler's jobs may share a message: its calls are known to take less than
	 * QUICK_HANDLER_MS on average. A handler not measured yet is sent alone until it is.
	 * @param job The job.
	 * @returns True if quick.
	 * @internal
	 */
	private isQuick(job: IHandlerJob): boolean {
		return this.costOf(job) < QUICK_HANDLER_MS;
	}

	/**
	 * A handler's average run time, ms (QUICK_HANDLER_MS, so not quick, when not measured).
	 * @param job The job.
	 * @returns The average.
	 * @internal
	 */
	private costOf(job: IHandlerJob): number {
		return this._costs.get(job.module)?.get(job.method) ?? QUICK_HANDLER_MS;
	}

	/**
	 * Learn how long a handler's call took in its worker.
	 * @param job The job.
	 * @param envelope What the worker sent back for it.
	 * @internal
	 */
	private learn(job: IHandlerJob, envelope: WorkerEnvelope | undefined): void {
		const ms = envelope?.ms;
		if (typeof ms !== "number" || envelope?.notStarted) {
			return;
		}
		let methods = this._costs.get(job.module);
		if (!methods) {
			methods = new Map();
			this._costs.set(job.module, methods);
		}
		const cost = methods.get(job.method);
		methods.set(job.method, cost === undefined ? ms : cost * 0.8 + ms * 0.2);
	}

	/**
	 * Send the quick jobs waiting at the end of this turn of the event loop, so the jobs started
	 * in one turn (a claimed batch, several completions) share messages.
	 * @internal
	 */
	private scheduleDispatch(): void {
		if (this._dispatching || this._free <= 0) {
			return;
		}
		this._dispatching = true;
		setImmediate(() => {
			this._dispatching = false;
			while (this._free > 0 && this._quick.length > 0) {
				this._free--;
				this.sendQuick();
			}
		});
	}

	/**
	 * Send waiting quick jobs to a worker taken for them: the first ones in order of arrival, up to
	 * MAX_JOBS_PER_MESSAGE and MESSAGE_BUDGET_MS of expected run time (a job marked alone goes
	 * alone). The worker runs them one after the other and
	 * answers once for all. They are not spread over the free workers: waking a waiting worker
	 * is what a message costs most (about 50 us of the main thread on the 2-core machine of
	 * docs/performance.md), more than a quick job's run, so fewer, fuller messages win; more
	 * waiting jobs than one message holds go to the next free worker.
	 * @internal
	 */
	private sendQuick(): void {
		const share = Math.min(MAX_JOBS_PER_MESSAGE, this._quick.length);
		let count = 1;
		if (!this._quick[0].alone) {
			let expected = this.costOf(this._quick[0].job);
			while (count < share && !this._quick[count].alone) {
				const cost = this.costOf(this._quick[count].job);
				if (expected + cost > MESSAGE_BUDGET_MS) {
					break;
				}
				expected += cost;
				count++;
			}
		}
		const entries = this._quick.splice(0, count);
		const pool = this.pool();
		if (!pool || this._abortedAll) {
			for (const entry of entries) {
				entry.resolve(
					pool ? NOT_STARTED : this.workerFailure(new Error("the worker pool is closed"))
				);
			}
			this.releaseWorker();
			return;
		}
		for (const entry of entries) {
			entry.job.jobId = ++this._jobCount;
		}
		const message =
			entries.length === 1 ? entries[0].job : { batch: entries.map(entry => entry.job) };
		pool
			.run(message)
			.then(
				(answer: WorkerEnvelope | WorkerEnvelope[]) => {
					const envelopes =
						entries.length === 1 ? [answer as WorkerEnvelope] : (answer as WorkerEnvelope[]);
					for (let i = 0; i < entries.length; i++) {
						this.learn(entries[i].job, envelopes[i]);
						entries[i].resolve(this.fromWorker(envelopes[i]));
					}
				},
				err => this.quickFailed(entries, err)
			)
			.finally(() => this.releaseWorker());
	}

	/**
	 * A worker running a message of several quick jobs failed (it exited, or ran out of memory):
	 * the jobs it had started fail as a single job's attempt does; the others never ran and wait
	 * again, at the front, to be sent alone.
	 * @param entries The jobs of the message.
	 * @param err The failure.
	 * @internal
	 */
	private quickFailed(entries: IQuickEntry[], err: unknown): void {
		const again: IQuickEntry[] = [];
		for (const entry of entries) {
			const jobId = entry.job.jobId;
			const started =
				this._started === undefined ||
				Atomics.load(this._started, jobId % STARTED_MARKS) === (jobId | 0);
			if (entries.length > 1 && !started && !this._closed && !this._abortedAll) {
				entry.alone = true;
				again.push(entry);
			} else {
				entry.resolve(this.workerFailure(err));
			}
		}
		this._quick.unshift(...again);
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
				const envelope: WorkerEnvelope = await pool.run(task);
				this.learn(task, envelope);
				return this.fromWorker(envelope);
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
			if (expired) {
				return timedOut(timeoutMs);
			}
			this.learn(task, envelope);
			return this.fromWorker(envelope);
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
	private fromWorker(envelope: WorkerEnvelope): AttemptOutcome {
		if (envelope.notStarted) {
			return NOT_STARTED;
		}
		// Without the worker's timing, which is the pool's business.
		return envelope.ok ? { ok: true, result: envelope.result } : fromEnvelope(envelope);
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
