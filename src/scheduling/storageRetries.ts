// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskLog } from "../utils/taskLog.js";
import type { Timers } from "./timers.js";

/**
 * The first pause after a storage call failed, ms; it doubles with each failure.
 */
const BACKOFF_FIRST_MS = 10;

/**
 * The longest pause between attempts of a storage call that failed, ms.
 */
const BACKOFF_MAX_MS = 2000;

/**
 * The runner's retries of storage calls: each failure is logged, then the call is made again
 * after a pause that doubles (up to BACKOFF_MAX_MS), until it succeeds or the runner gives up.
 * The runner makes a call's first attempt itself, outside any closure, since that is the one that
 * runs; only a failure comes here.
 */
export class StorageRetries {
	/**
	 * Create a new StorageRetries.
	 * @param _log The log.
	 * @param _timers The runner's timers (their pauses end at once after cancelPauses).
	 * @param _givenUp Whether the runner has given up (abandoned): then nothing is tried again.
	 */
	constructor(
		private readonly _log: TaskLog,
		private readonly _timers: Timers,
		private readonly _givenUp: () => boolean
	) {}

	/**
	 * Run a storage call until it succeeds.
	 * @param op The call.
	 * @param message The log key of a failure.
	 * @param id The task id, for the log.
	 * @returns The result, or undefined once given up.
	 */
	public async run<T>(op: () => Promise<T>, message: string, id: string): Promise<T | undefined> {
		return this.loop(op, message, id, BACKOFF_FIRST_MS);
	}

	/**
	 * After a first attempt failed: log it, pause, then run the call (again) until it succeeds.
	 * @param err The first attempt's error.
	 * @param op The call.
	 * @param message The log key of a failure.
	 * @param id The task id, for the log.
	 * @returns The result, or undefined once given up.
	 */
	public async after<T>(
		err: unknown,
		op: () => Promise<T>,
		message: string,
		id: string
	): Promise<T | undefined> {
		this._log.log("warn", message, { id }, err);
		await this._timers.pause(BACKOFF_FIRST_MS);
		return this.loop(op, message, id, BACKOFF_FIRST_MS * 2);
	}

	/**
	 * Attempt the call, pausing after each failure.
	 * @param op The call.
	 * @param message The log key of a failure.
	 * @param id The task id, for the log.
	 * @param firstPause The pause after the loop's first failure, ms.
	 * @returns The result, or undefined once given up.
	 * @internal
	 */
	private async loop<T>(
		op: () => Promise<T>,
		message: string,
		id: string,
		firstPause: number
	): Promise<T | undefined> {
		for (let pause = firstPause; !this._givenUp(); pause = Math.min(pause * 2, BACKOFF_MAX_MS)) {
			try {
				return await op();
			} catch (err) {
				this._log.log("warn", message, { id }, err);
				await this._timers.pause(pause);
			}
		}
		return undefined;
	}
}
