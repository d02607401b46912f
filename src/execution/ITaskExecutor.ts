// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AttemptOutcome } from "../scheduling/rules.js";

/**
 * One handler call: what to import and what to pass it.
 */
export interface IHandlerJob {
	/**
	 * The module specifier: file URL, absolute path or package name.
	 */
	module: string;

	/**
	 * The export name, or Export.member.
	 */
	method: string;

	/**
	 * The engine clone data, the handler's first argument.
	 */
	engineCloneData?: unknown;

	/**
	 * The payload, the handler's second argument when hasPayload.
	 */
	payload?: unknown;

	/**
	 * False to call the handler without a payload argument.
	 */
	hasPayload: boolean;
}

/**
 * Runs handlers. Knows nothing about tasks or storage: a job in, an outcome out, never a throw.
 */
export interface ITaskExecutor {
	/**
	 * Run one handler call.
	 * @param job The call.
	 * @param timeoutMs Stop the handler after this long and fail the attempt.
	 * @returns The outcome.
	 */
	run(job: IHandlerJob, timeoutMs?: number): Promise<AttemptOutcome>;

	/**
	 * Stop every handler still running and release the threads.
	 */
	close(): Promise<void>;
}
