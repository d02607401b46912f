// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "./backgroundTask.js";

/**
 * The cap of an exponential retry interval when neither the task nor the config sets one: one
 * hour.
 */
export const DEFAULT_RETRY_MAX_INTERVAL = 3_600_000;

/**
 * How long a failed attempt waits before the next one, ms. Fixed (the default, the original's
 * rule): the retry interval. Exponential: full jitter over a cap that doubles per failed attempt,
 * a uniformly random wait in [0, min(retryMaxInterval, retryInterval * 2^(n - 1))) after the
 * n-th attempt, so the retries of many tasks failing together spread out instead of returning
 * in waves.
 * @param task The task after its claim (attempts counts the attempt that just failed).
 * @param defaultRetryInterval The retry interval for tasks created without one.
 * @param defaultRetryMaxInterval The cap for tasks created without one.
 * @param random A uniform random number in [0, 1).
 * @returns The wait, a whole number of ms, at least 0.
 */
export function retryDelay(
	task: Pick<BackgroundTask, "retryInterval" | "retryBackoff" | "retryMaxInterval" | "attempts">,
	defaultRetryInterval: number,
	defaultRetryMaxInterval: number,
	random: () => number = Math.random
): number {
	const base = task.retryInterval ?? defaultRetryInterval;
	if (task.retryBackoff !== RetryBackoff.Exponential) {
		return base;
	}
	const cap = Math.max(0, task.retryMaxInterval ?? defaultRetryMaxInterval);
	const failed = Math.max(1, task.attempts ?? 1);
	// 2^(failed - 1) overflows to Infinity past 1023 doublings: the cap bounds it either way.
	const ceiling = Math.min(cap, base * 2 ** (failed - 1));
	const draw = random();
	// A draw outside [0, 1) (or NaN) is clamped into it, so the wait is never negative or NaN.
	const unit = draw >= 0 ? Math.min(draw, 1 - Number.EPSILON) : 0;
	return Math.floor(unit * ceiling);
}

/**
 * The retry backoff rules.
 */
export const RetryBackoff = {
	/**
	 * The same interval before every retry (the original's rule, the default).
	 */
	Fixed: "fixed",
	/**
	 * The interval doubles per failed attempt up to a cap, with full jitter.
	 */
	Exponential: "exponential"
} as const;

/**
 * The retry backoff rules.
 */
export type RetryBackoff = (typeof RetryBackoff)[keyof typeof RetryBackoff];
