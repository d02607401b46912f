// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Which waiting quick jobs a message takes when a type's messages in workers are limited to its
// concurrency (QuickJobs with MessageLimits); no worker is involved.
import { describe, expect, test } from "vitest";
import type { IPoolTask } from "../src/execution/poolThreads.js";
import { QuickJobs, type IQuickEntry } from "../src/execution/quickJobs.js";

let seq = 0;

/**
 * A waiting job of a type, of a handler measured quick.
 * @param type The task type.
 * @returns The entry.
 */
function entry(type: string): IQuickEntry {
	const job = { module: "m", method: "quick", type, taskId: `${type}${seq}` } as IPoolTask;
	return { job, seq: seq++, resolve: () => {} };
}

/**
 * A QuickJobs whose handler "m"/"quick" averages 1 us, with the type "t" limited to 2 messages.
 * @returns The jobs.
 */
function quickJobs(): QuickJobs {
	const quick = new QuickJobs();
	quick.learn({ module: "m", method: "quick" } as IPoolTask, { ok: true, ms: 0.001 });
	quick.limits.limit("t", 2);
	return quick;
}

/**
 * The task ids of a message.
 * @param message The message.
 * @returns The ids.
 */
function ids(message: IQuickEntry[]): (string | undefined)[] {
	return message.map(e => e.job.taskId);
}

describe("quick jobs: a type's messages limited to its concurrency", () => {
	test("a message takes the limited type's waiting jobs while it has fewer messages out than its limit", () => {
		const quick = quickJobs();
		const first = [entry("t"), entry("t")];
		first.forEach(e => quick.push(e));
		const one = quick.takeMessage();
		expect(ids(one)).toEqual(ids(first));
		quick.push(entry("t"));
		expect(quick.takeMessage()).toHaveLength(1);
		// Two messages out: the third waits, and is not the first a message may take.
		const third = entry("t");
		quick.push(third);
		expect(quick.first).toBeUndefined();
		expect(quick.takeMessage()).toEqual([]);
		quick.messageEnded(one);
		expect(quick.first).toBe(third);
		expect(quick.takeMessage()).toEqual([third]);
	});

	test("jobs of a type at its limit are passed over, in order, for those of other types", () => {
		const quick = quickJobs();
		const held = [entry("t"), entry("t")];
		quick.push(held[0]);
		const a = quick.takeMessage();
		quick.push(held[1]);
		const b = quick.takeMessage();
		const waiting = [
			entry("t"),
			entry("u"),
			entry("t"),
			entry("u"),
			entry(undefined as unknown as string)
		];
		waiting.forEach(e => quick.push(e));
		expect(quick.first).toBe(waiting[1]);
		expect(ids(quick.takeMessage())).toEqual(ids([waiting[1], waiting[3], waiting[4]]));
		// The limited type's jobs kept their order, and go once a message of it ends.
		quick.messageEnded(b);
		expect(ids(quick.takeMessage())).toEqual(ids([waiting[0], waiting[2]]));
		quick.messageEnded(a);
	});

	test("a type without a limit is never held back, and a message ended twice does not go negative", () => {
		const quick = quickJobs();
		const messages = [];
		for (let i = 0; i < 5; i++) {
			quick.push(entry("u"));
			messages.push(quick.takeMessage());
		}
		expect(messages.every(m => m.length === 1)).toBe(true);
		expect(quick.limits.isLimited("u")).toBe(false);
		expect(quick.limits.isLimited("t")).toBe(true);
		const t = entry("t");
		quick.push(t);
		const sent = quick.takeMessage();
		quick.messageEnded(sent);
		quick.messageEnded(sent);
		expect(quick.limits.allows("t")).toBe(true);
	});
});
