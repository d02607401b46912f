// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AttemptOutcome } from "../scheduling/rules.js";
import type { IHandlerJob, ITaskExecutor } from "./ITaskExecutor.js";
import { fromEnvelope, HANDLER_WORKER_URL, timedOut } from "./outcomes.js";

/**
 * The handler runner's entry point.
 */
type RunHandler = (job: IHandlerJob) => Promise<AttemptOutcome>;

/**
 * Runs handlers on the calling thread with the same runner the workers use. No isolation: a
 * timed-out handler is abandoned (its attempt fails) but keeps running, and a handler that calls
 * process.exit ends the host.
 */
export class InlineExecutor implements ITaskExecutor {
	/**
	 * The runner, imported on first use.
	 * @internal
	 */
	private _runner?: Promise<RunHandler>;

	/**
	 * Pending timeout timers, cleared on close.
	 * @internal
	 */
	private readonly _timers = new Set<NodeJS.Timeout>();

	/**
	 * Run one handler call.
	 * @param job The call.
	 * @param timeoutMs Abandon the handler after this long and fail the attempt.
	 * @returns The outcome.
	 */
	public async run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome> {
		this._runner ??= import(HANDLER_WORKER_URL.href).then(m => m.default as RunHandler);
		const running = (await this._runner)(job).then(fromEnvelope);
		if (timeoutMs === undefined) {
			return running;
		}
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<AttemptOutcome>(resolve => {
			timer = setTimeout(() => resolve(timedOut(timeoutMs)), timeoutMs);
			this._timers.add(timer);
		});
		try {
			return await Promise.race([running, timeout]);
		} finally {
			clearTimeout(timer);
			this._timers.delete(timer as NodeJS.Timeout);
		}
	}

	/**
	 * Clear timers; handlers still running inline cannot be stopped.
	 */
	public async close(): Promise<void> {
		for (const timer of this._timers) {
			clearTimeout(timer);
		}
		this._timers.clear();
	}
}
