// ClusteredTaskScheduler against TWIN's TaskSchedulerService (@twin.org/background-task-scheduler
// 0.0.2-next.3): one single-node script run through each, comparing what callers see: tasksInfo()
// after adding and after the occurrences, how often each callback ran, and the log keys per task.
// Ours runs over this package's connector (in-memory storage, worker mode: the callbacks still run
// on this thread); the original ticks every 50 ms.
import { TaskSchedulerService } from "@twin.org/background-task-scheduler";
import type { IScheduledTaskInfo, ITaskSchedulerComponent } from "@twin.org/background-task-models";
import { BackgroundTaskConnectorFactory } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import { ClusteredTaskScheduler } from "../../src/index.js";
import { createConnector, waitFor } from "../helpers/harness.js";
import { registerLoggingConnector } from "../helpers/logging.js";

/**
 * What a caller of a scheduler saw during the script.
 */
interface ISeen {
	t0: number;
	infoAdded: IScheduledTaskInfo;
	infoAfter: IScheduledTaskInfo;
	calls: { [id: string]: number };
	logKeys: { [id: string]: string[] };
}

/**
 * Run the script: a task every 300 ms, one that runs once, one that runs once and throws; wait for
 * three runs of the periodic one, then remove it.
 * @param make The scheduler, given its logging connector's name.
 * @returns What the caller saw, and the time origin of the times given.
 */
async function script(
	make: (loggingConnectorType: string) => Promise<ITaskSchedulerComponent>
): Promise<ISeen> {
	const logger = registerLoggingConnector();
	const scheduler = await make(logger.name);
	const t0 = Date.now();
	const calls: { [id: string]: number } = { every: 0, once: 0, fails: 0 };
	const count = (id: string) => async (): Promise<void> => {
		calls[id]++;
		if (id === "fails") {
			throw new Error("the callback failed");
		}
	};
	await scheduler.addTask(
		"every",
		[{ nextTriggerTime: t0 + 300, intervalMinutes: 0.005 }],
		count("every")
	);
	await scheduler.addTask("once", [{ nextTriggerTime: t0 + 200 }], count("once"));
	await scheduler.addTask("fails", [{ nextTriggerTime: t0 + 250 }], count("fails"));
	// A copy: the original's answer holds its live objects, which later runs change.
	const infoAdded = structuredClone(await scheduler.tasksInfo());
	await waitFor(() => calls.every >= 3 && calls.once === 1 && calls.fails === 1, 10000, "runs");
	await scheduler.removeTask("every");
	const infoAfter = structuredClone(await scheduler.tasksInfo());
	await scheduler.stop?.("node", undefined);
	const logKeys: { [id: string]: string[] } = {};
	for (const entry of logger.entries) {
		const id = (entry.data as { id: string }).id;
		(logKeys[id] ??= []).push(`${entry.level}:${entry.message}`);
	}
	return { t0, infoAdded, infoAfter, calls, logKeys };
}

describe("ClusteredTaskScheduler against TaskSchedulerService", () => {
	test("the same script: equal tasksInfo, callback calls and log keys", async () => {
		const original = await script(
			async loggingConnectorType =>
				new TaskSchedulerService({ loggingConnectorType, config: { overrideInterval: 50 } })
		);

		const { connector, start } = createConnector({ executionMode: "worker" });
		BackgroundTaskConnectorFactory.register("scheduler-diff", () => connector);
		await start();
		const ours = await script(async loggingConnectorType => {
			const scheduler = new ClusteredTaskScheduler({
				loggingConnectorType,
				backgroundTaskConnectorType: "scheduler-diff",
				config: { overrideInterval: 50 }
			});
			await scheduler.start("node");
			return scheduler;
		});
		BackgroundTaskConnectorFactory.unregister("scheduler-diff");

		// The times given are relative to each run's origin: compare them from it.
		const relative = (info: IScheduledTaskInfo, origin: number): unknown =>
			Object.fromEntries(
				Object.entries(info.tasks).map(([id, times]) => [
					id,
					times.map(t => ({
						...t,
						nextTriggerTime:
							t.nextTriggerTime === undefined ? undefined : t.nextTriggerTime - origin
					}))
				])
			);
		expect(relative(ours.infoAdded, ours.t0)).toEqual(relative(original.infoAdded, original.t0));
		expect(ours.infoAfter).toEqual(original.infoAfter);
		expect(ours.calls).toEqual(original.calls);
		expect(ours.logKeys).toEqual(original.logKeys);
		expect(ours.logKeys.fails).toEqual(["info:taskAdded", "info:taskTriggered", "info:taskFailed"]);
	});
});
