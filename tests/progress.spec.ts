// Progress (issue 22, item 5), in parts: the handler's side (jobContext.mjs), which checks each
// value and passes at most one a second on to the connector, and the runner's (ProgressWrites),
// which writes what it is passed one write at a time per task and drops a failed write. The
// contract suite (tests/contract/queueContract.ts) runs the whole on every backend.
import type { ILogEntry } from "@twin.org/logging-models";
import { afterEach, describe, expect, test, vi } from "vitest";
import type { ITaskSource } from "../src/contracts/ITaskSource.js";
import { ProgressWrites } from "../src/scheduling/progressWrites.js";
import { TaskLog } from "../src/utils/taskLog.js";
import { waitFor } from "./helpers/harness.js";

/**
 * What this spec uses of jobContext.mjs (plain JavaScript, loaded as the runner loads it).
 */
interface IJobContextModule {
	PROGRESS_INTERVAL_MS: number;
	JobAbort: new () => object;
	TaskContext: new (
		job: { taskId: string; type: string },
		abort: object,
		sink?: (taskId: string, progress: string) => void
	) => { reportProgress(value: unknown): void; endProgress(): string | undefined };
}

const jobContext = (await import(
	new URL("../src/execution/jobContext.mjs", import.meta.url).href
)) as IJobContextModule;

/**
 * A context for task "t" whose progress goes to a list.
 * @param sink Where progress goes, by default a list.
 * @returns The context and what reached the sink.
 */
function contextWithSink(sink?: (taskId: string, progress: string) => void): {
	context: ReturnType<typeof makeContext>;
	sent: [string, string][];
} {
	const sent: [string, string][] = [];
	const context = makeContext(sink ?? ((taskId, progress) => sent.push([taskId, progress])));
	return { context, sent };
}

/**
 * A context for task "t".
 * @param sink Where progress goes.
 * @returns The context.
 */
function makeContext(sink?: (taskId: string, progress: string) => void): {
	reportProgress(value: unknown): void;
	endProgress(): string | undefined;
} {
	return new jobContext.TaskContext({ taskId: "t", type: "x" }, new jobContext.JobAbort(), sink);
}

afterEach(() => {
	vi.useRealTimers();
});

describe("a handler's reportProgress", () => {
	test("the first value goes on at once, later ones at most once an interval (the latest), none after the end", () => {
		vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
		const { context, sent } = contextWithSink();
		for (let step = 1; step <= 50; step++) {
			context.reportProgress({ step });
		}
		expect(sent).toEqual([["t", '{"step":1}']]);
		vi.advanceTimersByTime(jobContext.PROGRESS_INTERVAL_MS - 1);
		expect(sent).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(sent).toEqual([
			["t", '{"step":1}'],
			["t", '{"step":50}']
		]);
		// Nothing new: nothing sent.
		vi.advanceTimersByTime(5 * jobContext.PROGRESS_INTERVAL_MS);
		expect(sent).toHaveLength(2);
		// Long after the last: at once again.
		context.reportProgress("again");
		expect(sent.at(-1)).toEqual(["t", '"again"']);
		context.reportProgress("held");
		expect(context.endProgress()).toBe('"held"');
		vi.advanceTimersByTime(5 * jobContext.PROGRESS_INTERVAL_MS);
		context.reportProgress("after the end");
		expect(sent).toHaveLength(3);
		expect(vi.getTimerCount()).toBe(0);
	});

	test("a handler that reports nothing has no progress; without a sink the last value is kept; reportProgress may be destructured", () => {
		expect(makeContext(() => undefined).endProgress()).toBeUndefined();
		const context = makeContext();
		const { reportProgress } = context;
		reportProgress(1);
		reportProgress([2, { three: null }]);
		expect(context.reportProgress).toBe(reportProgress);
		expect(context.endProgress()).toBe('[2,{"three":null}]');
	});

	test("a value JSON cannot hold is refused with a TypeError naming value, and changes nothing", () => {
		const { context, sent } = contextWithSink();
		context.reportProgress({ ok: true, when: new Date(0) });
		const cycle: { self?: unknown } = {};
		cycle.self = cycle;
		const refused: [unknown, string][] = [
			[undefined, "value must be a JSON value, not undefined"],
			[(): number => 1, "value is a function"],
			[10n, "value is a bigint"],
			[Symbol("s"), "value is a symbol"],
			[Number.NaN, "value is NaN"],
			[{ list: [1, undefined] }, `value's "1" is undefined in an array`],
			[{ nested: { fn: (): number => 1 } }, `value's "fn" is a function`],
			[new Map(), "value is a Map"],
			[cycle, "circular"]
		];
		for (const [value, message] of refused) {
			let error: unknown;
			try {
				context.reportProgress(value);
			} catch (err) {
				error = err;
			}
			expect(error, String(message)).toBeInstanceOf(TypeError);
			expect((error as Error).message).toMatch(/^reportProgress: value /);
			expect((error as Error).message).toContain(message);
		}
		expect(sent).toEqual([["t", '{"ok":true,"when":"1970-01-01T00:00:00.000Z"}']]);
		expect(context.endProgress()).toBe('{"ok":true,"when":"1970-01-01T00:00:00.000Z"}');
	});

	test("a sink that throws never fails the handler", () => {
		const context = makeContext(() => {
			throw new Error("sink failed");
		});
		expect(() => context.reportProgress(1)).not.toThrow();
		expect(context.endProgress()).toBe("1");
	});
});

/**
 * A source whose writeProgress the test resolves by hand.
 * @returns The source, the writes asked of it, and the log's entries.
 */
function fakeSource(): {
	source: ITaskSource;
	writes: { id: string; progress: unknown; settle: (written: boolean | Error) => void }[];
} {
	const writes: { id: string; progress: unknown; settle: (written: boolean | Error) => void }[] =
		[];
	const source = {
		writeProgress: async (id: string, progress: unknown): Promise<boolean> =>
			new Promise<boolean>((resolve, reject) => {
				writes.push({
					id,
					progress,
					settle: written => (written instanceof Error ? reject(written) : resolve(written))
				});
			})
	} as unknown as ITaskSource;
	return { source, writes };
}

describe("the runner's progress writes", () => {
	test("one write at a time per task, the latest value next; the latest handed to the settle at the end", async () => {
		const { source, writes } = fakeSource();
		const progress = new ProgressWrites(source, new TaskLog("test", undefined), () => true);
		progress.report("a", '{"step":1}');
		progress.report("b", '"b1"');
		expect(writes.map(w => [w.id, w.progress])).toEqual([
			["a", { step: 1 }],
			["b", "b1"]
		]);
		// While a's write is in flight, two more values: only the latest is written next.
		progress.report("a", '{"step":2}');
		progress.report("a", '{"step":3}');
		expect(writes).toHaveLength(2);
		writes[0].settle(true);
		await waitFor(() => writes.length === 3, 1000, "the next write");
		expect(writes[2]).toMatchObject({ id: "a", progress: { step: 3 } });
		// The handler ended: nothing more is written, and the settle gets the latest value.
		progress.report("a", '{"step":4}');
		expect(progress.end("a")).toEqual({ step: 4 });
		writes[2].settle(true);
		writes[1].settle(true);
		await new Promise(resolve => setTimeout(resolve, 10));
		expect(writes).toHaveLength(3);
		expect(progress.end("a")).toBeUndefined();
		expect(progress.end("never-reported")).toBeUndefined();
	});

	test("a failed write is logged and dropped; a write the fence refused stops the task's writes", async () => {
		const { source, writes } = fakeSource();
		const entries: ILogEntry[] = [];
		const log = new TaskLog("test", {
			log: async (entry: ILogEntry) => {
				entries.push(entry);
			}
		});
		const progress = new ProgressWrites(source, log, () => true);
		progress.report("a", "1");
		progress.report("a", "2");
		writes[0].settle(new Error("storage down"));
		await waitFor(() => writes.length === 2, 1000, "the next write");
		expect(writes[1].progress).toBe(2);
		expect(entries.map(e => [e.level, e.message, e.data?.id])).toEqual([
			["warn", "progressFailed", "a"]
		]);
		// The fence refused (the run's settle began, or its claim is gone): the task is forgotten.
		writes[1].settle(false);
		await new Promise(resolve => setTimeout(resolve, 10));
		expect(progress.end("a")).toBeUndefined();
	});

	test("progress of a task this runner has not claimed is dropped", () => {
		const { source, writes } = fakeSource();
		const progress = new ProgressWrites(source, new TaskLog("test", undefined), id => id === "a");
		progress.report("other", "1");
		expect(writes).toEqual([]);
		expect(progress.end("other")).toBeUndefined();
	});
});
