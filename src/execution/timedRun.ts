// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { MessageChannel } from "node:worker_threads";
import type { IPoolTask, PoolThreads, WorkerEnvelope } from "./poolThreads.js";
import type { Terminator } from "./taskAborts.js";

/**
 * How a job with a timeout ended: its worker's answer, its timeout, or its worker's failure.
 */
export type TimedAnswer =
	| { kind: "answered"; envelope: WorkerEnvelope }
	| { kind: "timedOut" }
	| { kind: "failed"; error: unknown };

/**
 * Run one numbered job with a timeout in a free worker of the pool.
 *
 * The timeout counts from the moment the worker calls the handler, which the worker reports on a
 * message port sent with the job: a worker replacing one that was terminated (a timeout, a crash)
 * takes a while to start and to import the handler's module, and that must not be charged to the
 * handler. (A module whose import never finishes is therefore not timed out; stop() still ends
 * it.)
 *
 * When the timeout passes, the handler's signal fires (abortJob); a handler that ends within the
 * grace keeps its worker, one that does not has it terminated. The attempt fails with the timeout
 * either way.
 * @param threads The pool's threads.
 * @param task The numbered job.
 * @param timeoutMs The timeout.
 * @param graceMs How long after the timeout the worker is terminated.
 * @param abortJob Fires the job's signal; the executor's, so it posts nothing once closed.
 * @param terminator Terminates the worker when abort(taskId)'s grace has passed.
 * @returns How the job ended.
 */
export async function runTimed(
	threads: PoolThreads,
	task: IPoolTask,
	timeoutMs: number,
	graceMs: number,
	abortJob: () => void,
	terminator?: Terminator
): Promise<TimedAnswer> {
	const terminate = new AbortController();
	terminator?.addEventListener("abort", () => terminate.abort());
	const { port1, port2 } = new MessageChannel();
	task.started = port2;
	let timer: NodeJS.Timeout | undefined;
	let settled = false;
	let expired = false;
	port1.once("message", () => {
		if (!settled) {
			timer = setTimeout(() => {
				expired = true;
				abortJob();
				timer = setTimeout(() => terminate.abort(), graceMs);
			}, timeoutMs);
		}
	});
	try {
		const envelope: WorkerEnvelope = await threads.pool.run(task, {
			signal: terminate.signal,
			transferList: [port2]
		});
		return expired ? { kind: "timedOut" } : { kind: "answered", envelope };
	} catch (error) {
		return expired ? { kind: "timedOut" } : { kind: "failed", error };
	} finally {
		settled = true;
		clearTimeout(timer);
		port1.close();
	}
}

/**
 * Run one numbered job without a timeout in a free worker of the pool; a terminator, when given
 * (a job that abort(taskId) may stop), terminates its worker when fired.
 * @param threads The pool's threads.
 * @param task The numbered job.
 * @param terminator The job's terminator.
 * @returns How the job ended.
 */
export async function runUntimed(
	threads: PoolThreads,
	task: IPoolTask,
	terminator?: Terminator
): Promise<TimedAnswer> {
	try {
		const envelope: WorkerEnvelope = await threads.pool.run(
			task,
			terminator ? { signal: terminator } : undefined
		);
		return { kind: "answered", envelope };
	} catch (error) {
		return { kind: "failed", error };
	}
}
