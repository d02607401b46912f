// Property tests of the retry backoff rule (retry.retryDelay) and of how settled() applies it.
import { TaskStatus } from "@twin.org/background-task-models";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DEFAULT_RETRY_MAX_INTERVAL, retryDelay, RetryBackoff } from "../src/domain/retry.js";
import { claimed, settled } from "../src/domain/rules.js";
import { taskEntity } from "./helpers/tasks.js";

const DEFAULT_RETRY = 5000;
const ERROR = { name: "Error", message: "boom" };

/** A uniform random number in [0, 1), as Math.random returns. */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** A retry interval as create accepts it. */
const interval = fc.integer({ min: 1, max: 2_147_483_647 });
/** A failed attempt's number (attempts after the claim). */
const attempt = fc.integer({ min: 1, max: 2000 });

describe("retry backoff", () => {
	test("fixed (and absent) waits exactly the retry interval, whatever the attempt and the random draw", () => {
		fc.assert(
			fc.property(
				fc.option(interval, { nil: undefined }),
				attempt,
				unit,
				fc.constantFrom(undefined, RetryBackoff.Fixed),
				(retryInterval, attempts, r, retryBackoff) => {
					const wait = retryDelay(
						{ retryInterval, attempts, retryBackoff },
						DEFAULT_RETRY,
						DEFAULT_RETRY_MAX_INTERVAL,
						() => r
					);
					expect(wait).toBe(retryInterval ?? DEFAULT_RETRY);
				}
			)
		);
	});

	test("exponential stays in [0, min(cap, interval * 2^(n-1))) and is a whole number of ms", () => {
		fc.assert(
			fc.property(interval, interval, attempt, unit, (retryInterval, cap, attempts, r) => {
				const wait = retryDelay(
					{
						retryInterval,
						retryMaxInterval: cap,
						attempts,
						retryBackoff: RetryBackoff.Exponential
					},
					DEFAULT_RETRY,
					DEFAULT_RETRY_MAX_INTERVAL,
					() => r
				);
				const ceiling = Math.min(cap, retryInterval * 2 ** (attempts - 1));
				expect(Number.isInteger(wait)).toBe(true);
				expect(wait).toBeGreaterThanOrEqual(0);
				expect(wait).toBeLessThan(Math.max(ceiling, 1));
				expect(wait).toBeLessThanOrEqual(cap);
			})
		);
	});

	test("exponential: the ceiling doubles per attempt until the cap (the draw scales it linearly)", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 10_000 }),
				fc.integer({ min: 1, max: 20 }),
				(retryInterval, attempts) => {
					const cap = 2_147_483_647;
					const top = (n: number): number =>
						retryDelay(
							{ retryInterval, retryMaxInterval: cap, attempts: n, retryBackoff: "exponential" },
							DEFAULT_RETRY,
							DEFAULT_RETRY_MAX_INTERVAL,
							() => 1 - Number.EPSILON
						);
					// Just under the ceiling: floor((1 - eps) * c) is c - 1 for whole c.
					expect(top(attempts)).toBe(Math.min(cap, retryInterval * 2 ** (attempts - 1)) - 1);
					expect(
						retryDelay(
							{ retryInterval, retryMaxInterval: cap, attempts, retryBackoff: "exponential" },
							DEFAULT_RETRY,
							DEFAULT_RETRY_MAX_INTERVAL,
							() => 0.5
						)
					).toBe(Math.floor(0.5 * Math.min(cap, retryInterval * 2 ** (attempts - 1))));
				}
			)
		);
	});

	test("exponential: non-decreasing in the attempt for a fixed draw, and never above the cap", () => {
		fc.assert(
			fc.property(interval, interval, attempt, unit, (retryInterval, cap, attempts, r) => {
				const at = (n: number): number =>
					retryDelay(
						{ retryInterval, retryMaxInterval: cap, attempts: n, retryBackoff: "exponential" },
						DEFAULT_RETRY,
						DEFAULT_RETRY_MAX_INTERVAL,
						() => r
					);
				expect(at(attempts + 1)).toBeGreaterThanOrEqual(at(attempts));
				expect(at(attempts + 1)).toBeLessThanOrEqual(cap);
			})
		);
	});

	test("exponential without a cap on the task uses the default cap; without attempts counts as the first", () => {
		fc.assert(
			fc.property(
				interval,
				unit,
				fc.integer({ min: 1, max: 2_147_483_647 }),
				(retryInterval, r, cap) => {
					const wait = retryDelay(
						{ retryInterval, attempts: 1000, retryBackoff: "exponential" },
						DEFAULT_RETRY,
						cap,
						() => r
					);
					expect(wait).toBe(Math.floor(r * cap));
					expect(
						retryDelay({ retryInterval, retryBackoff: "exponential" }, DEFAULT_RETRY, cap, () => r)
					).toBe(Math.floor(r * Math.min(cap, retryInterval)));
				}
			)
		);
	});

	test("a draw outside [0, 1) is clamped into it", () => {
		for (const r of [-1, 1, 2, Number.NaN]) {
			const wait = retryDelay(
				{ retryInterval: 1000, attempts: 3, retryBackoff: "exponential" },
				DEFAULT_RETRY,
				DEFAULT_RETRY_MAX_INTERVAL,
				() => r
			);
			expect(wait).toBeGreaterThanOrEqual(0);
			expect(wait).toBeLessThan(4000);
		}
	});

	test("settled() schedules the retry at now + retryDelay and counts attempts only when recorded", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 50 }),
				fc.integer({ min: 1, max: 5 }),
				fc.integer({ min: 1, max: 100_000 }),
				unit,
				(previous, retries, retryInterval, r) => {
					const now = Date.parse("2026-03-01T10:00:00.000Z");
					const task = claimed(
						taskEntity({
							retriesRemaining: retries,
							retryInterval,
							retryBackoff: "exponential",
							retryMaxInterval: 3_600_000,
							attempts: previous
						}),
						now
					);
					expect(task.attempts).toBe(previous + 1);
					const next = settled(task, { ok: false, error: ERROR }, now, DEFAULT_RETRY, 1, () => r);
					expect(next.status).toBe(TaskStatus.Pending);
					const expected = Math.floor(
						r * Math.min(3_600_000, retryInterval * 2 ** (previous + 1 - 1))
					);
					expect(Date.parse(next.dateNextProcess as string)).toBe(now + expected);
					expect(next.attempts).toBe(previous + 1);
				}
			)
		);
		const plain = claimed(taskEntity({ retriesRemaining: 1 }), Date.now());
		expect("attempts" in plain).toBe(false);
	});
});
