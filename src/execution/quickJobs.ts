// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IHandlerJob } from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";
import { MessageLimits } from "./messageLimits.js";
import { fromWorker } from "./outcomes.js";
import type { IPoolTask, PoolThreads, WorkerEnvelope } from "./poolThreads.js";

/**
 * A handler whose calls take less than this on average, ms, is quick: its jobs may be sent to a
 * worker several in one message.
 */
export const QUICK_HANDLER_MS = 1;

/**
 * The most jobs sent to a worker in one message.
 */
export const MAX_JOBS_PER_MESSAGE = 64;

/**
 * The runs of a quick handler that may be in flight for each slot of its type, in worker mode
 * (WorkerPoolExecutor.slotDepth): they wait in messages, and a message's jobs run one after the
 * other, so each wake-up of a worker carries up to this many times more jobs.
 */
export const QUICK_SLOT_DEPTH = 8;

/**
 * The expected run time of one message's jobs, ms: a message holds no more of a handler's jobs
 * than fit in it by the handler's average (at least one), so jobs of a handler near
 * QUICK_HANDLER_MS are not queued behind each other in one worker while another is free.
 */
export const MESSAGE_BUDGET_MS = 1;

/**
 * A job of a quick handler waiting to be sent.
 */
export interface IQuickEntry {
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
 * The quick handlers' jobs waiting for a worker, what makes a handler quick (the average time its
 * calls take in a worker: an exponential moving average of the times the workers report, by module
 * then method), and the messages that carry several such jobs to one worker. Waking a waiting
 * worker costs more than a quick job's run (docs/design.md, "Several quick jobs in one message").
 */
export class QuickJobs {
	/**
	 * Jobs of quick handlers waiting to be sent, first come first served.
	 * @internal
	 */
	private _waiting: IQuickEntry[] = [];

	/**
	 * How many messages holding each type's jobs may be in a worker at once.
	 */
	public readonly limits = new MessageLimits();

	/**
	 * The average time each handler's calls take in a worker, ms, by module then method.
	 * @internal
	 */
	private readonly _costs = new Map<string, Map<string, number>>();

	/**
	 * The first job waiting that a message may take now (its type's limit allows it), if any.
	 * @returns The entry.
	 */
	public get first(): IQuickEntry | undefined {
		for (const entry of this._waiting) {
			if (this.limits.allows(entry.job.type)) {
				return entry;
			}
		}
		return undefined;
	}

	/**
	 * Queue a job.
	 * @param entry The job.
	 */
	public push(entry: IQuickEntry): void {
		this._waiting.push(entry);
	}

	/**
	 * Put jobs back at the front, in their order.
	 * @param entries The jobs.
	 * @internal
	 */
	private putBack(entries: IQuickEntry[]): void {
		this._waiting.unshift(...entries);
	}

	/**
	 * Take every waiting job.
	 * @returns The jobs.
	 */
	public drain(): IQuickEntry[] {
		return this._waiting.splice(0);
	}

	/**
	 * Take the next message's jobs: the first ones in order of arrival that their types' limits
	 * allow, up to MAX_JOBS_PER_MESSAGE and MESSAGE_BUDGET_MS of expected run time by their
	 * handlers' averages (at least one; a job marked alone goes alone). The message counts as out
	 * for each of its types until messageEnded().
	 * @returns The jobs; none when no job waiting may go now.
	 */
	public takeMessage(): IQuickEntry[] {
		const taken: IQuickEntry[] = [];
		const types = new Set<string>();
		const left: IQuickEntry[] = [];
		let expected = 0;
		let i = 0;
		for (; i < this._waiting.length && taken.length < MAX_JOBS_PER_MESSAGE; i++) {
			const entry = this._waiting[i];
			const type = entry.job.type;
			if (!this.limits.allows(type, types)) {
				left.push(entry);
				continue;
			}
			const cost = this.costOf(entry.job);
			if (taken.length > 0 && (entry.alone || expected + cost > MESSAGE_BUDGET_MS)) {
				break;
			}
			taken.push(entry);
			if (type !== undefined) {
				types.add(type);
			}
			expected += cost;
			if (entry.alone) {
				i++;
				break;
			}
		}
		if (left.length === 0) {
			this._waiting.splice(0, i);
		} else {
			this._waiting = left.concat(this._waiting.slice(i));
		}
		this.limits.sent(types);
		return taken;
	}

	/**
	 * A message from takeMessage() was answered, failed, or never sent: it no longer counts as
	 * out for its types.
	 * @param entries Its jobs.
	 */
	public messageEnded(entries: readonly IQuickEntry[]): void {
		const types = new Set<string>();
		for (const entry of entries) {
			if (entry.job.type !== undefined) {
				types.add(entry.job.type);
			}
		}
		this.limits.ended(types);
	}

	/**
	 * Whether a handler's jobs may share a message: its calls are known to take less than
	 * QUICK_HANDLER_MS on average. A handler not measured yet is sent alone until it is.
	 * @param job The job.
	 * @returns True if quick.
	 */
	public isQuick(job: Pick<IHandlerJob, "module" | "method">): boolean {
		return this.costOf(job) < QUICK_HANDLER_MS;
	}

	/**
	 * A handler's average run time, ms (QUICK_HANDLER_MS, so not quick, when not measured).
	 * @param job The job.
	 * @returns The average.
	 */
	public costOf(job: Pick<IHandlerJob, "module" | "method">): number {
		return this._costs.get(job.module)?.get(job.method) ?? QUICK_HANDLER_MS;
	}

	/**
	 * Learn how long a handler's call took in its worker.
	 * @param job The job.
	 * @param envelope What the worker sent back for it.
	 */
	public learn(job: IHandlerJob, envelope: WorkerEnvelope | undefined): void {
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
	 * Send one message's jobs (from takeMessage()) to a worker taken for them, which runs them one
	 * after the other and answers once for all, and resolve each job with its outcome.
	 * @param threads The pool's threads.
	 * @param entries The jobs.
	 * @param mayResend Whether jobs that never started may wait again, asked if the worker fails.
	 * @param workerFailure The outcome of a job whose worker failed.
	 * @returns Resolves once every job is resolved or waits again.
	 */
	public send(
		threads: PoolThreads,
		entries: IQuickEntry[],
		mayResend: () => boolean,
		workerFailure: (err: unknown) => AttemptOutcome
	): Promise<void> {
		for (const entry of entries) {
			threads.number(entry.job);
		}
		const message =
			entries.length === 1 ? entries[0].job : { batch: entries.map(entry => entry.job) };
		return threads.pool.run(message).then(
			(answer: WorkerEnvelope | WorkerEnvelope[]) => {
				this.messageEnded(entries);
				const envelopes =
					entries.length === 1 ? [answer as WorkerEnvelope] : (answer as WorkerEnvelope[]);
				for (let i = 0; i < entries.length; i++) {
					this.learn(entries[i].job, envelopes[i]);
					entries[i].resolve(fromWorker(envelopes[i]));
				}
			},
			err => {
				this.messageEnded(entries);
				this.failed(threads, entries, err, mayResend, workerFailure);
			}
		);
	}

	/**
	 * A worker running a message of several quick jobs failed (it exited, or ran out of memory):
	 * the jobs it had started fail as a single job's attempt does; the others never ran and wait
	 * again, at the front, to be sent alone.
	 * @param threads The threads the message went to.
	 * @param entries The jobs of the message.
	 * @param err The failure.
	 * @param mayResend Whether jobs that never started may wait again.
	 * @param workerFailure The outcome of a job whose worker failed.
	 * @internal
	 */
	private failed(
		threads: PoolThreads,
		entries: IQuickEntry[],
		err: unknown,
		mayResend: () => boolean,
		workerFailure: (err: unknown) => AttemptOutcome
	): void {
		const again: IQuickEntry[] = [];
		for (const entry of entries) {
			const started = threads.hasStarted(entry.job.jobId);
			if (entries.length > 1 && !started && mayResend()) {
				entry.alone = true;
				again.push(entry);
			} else {
				entry.resolve(workerFailure(err));
			}
		}
		this.putBack(again);
	}
}
