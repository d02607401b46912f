// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IClaimResult, ITaskSource } from "../contracts/ITaskSource.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../contracts/schedulerModels.js";
import type { StorageRetries } from "./storageRetries.js";
import type { Timers } from "./timers.js";

/**
 * The runner's steps before a handler starts: the claim in storage, and the wait for a start of a
 * type whose rate limit the source counts across nodes. A storage call that fails is retried with
 * backoff (StorageRetries) until it succeeds or the runner is abandoned.
 */
export class ClaimSteps {
	/**
	 * Create the steps.
	 * @param source The task source.
	 * @param settings The scheduler settings.
	 * @param retries The runner's retries of failed storage calls.
	 * @param timers The timers, for the rate limit's waits.
	 * @param startedAt When the runner (one session) started, epoch ms.
	 * @param abandoned Whether the runner was abandoned.
	 */
	constructor(
		private readonly source: ITaskSource,
		private readonly settings: ISchedulerSettings,
		private readonly retries: StorageRetries,
		private readonly timers: Timers,
		private readonly startedAt: number,
		private readonly abandoned: () => boolean
	) {}

	/**
	 * Claim a task in storage, retrying a failed claim.
	 * @param type The task type.
	 * @param id The task id.
	 * @param handler The handler.
	 * @param mayStart Whether a new task of the type may still start.
	 * @returns The claim result, or undefined once abandoned.
	 */
	public async claim(
		type: string,
		id: string,
		handler: IRegisteredHandler,
		mayStart: (type: string) => boolean
	): Promise<IClaimResult | undefined> {
		// The first attempt without the retry loop's closure and frames: it is the one that runs.
		try {
			return await this.claimNow(type, id, handler, mayStart);
		} catch (err) {
			return this.retries.after(
				err,
				async () => this.claimNow(type, id, handler, mayStart),
				"claimFailed",
				id
			);
		}
	}

	/**
	 * Wait until the shared counter of a rate-limited type grants a start (storage failures are
	 * retried like any other); returns at once once abandoned.
	 * @param type The task type.
	 * @param max Starts per window.
	 * @param per The window, ms.
	 * @param id The task id, for logs.
	 */
	public async waitForStart(type: string, max: number, per: number, id: string): Promise<void> {
		while (!this.abandoned()) {
			const wait = await this.retries.run(
				async () => this.source.takeStart(type, max, per),
				"rateLimitFailed",
				id
			);
			if (wait === undefined || wait <= 0) {
				return;
			}
			await this.timers.pause(wait);
		}
	}

	/**
	 * One claim attempt: nothing once no new task of the type may start.
	 * @param type The task type.
	 * @param id The task id.
	 * @param handler The handler.
	 * @param mayStart Whether a new task of the type may still start.
	 * @returns The claim result.
	 * @internal
	 */
	private claimNow(
		type: string,
		id: string,
		handler: IRegisteredHandler,
		mayStart: (type: string) => boolean
	): Promise<IClaimResult> {
		return mayStart(type)
			? this.source.claim(id, this.settings.threadId, this.startedAt, handler.serial)
			: Promise.resolve({});
	}
}
