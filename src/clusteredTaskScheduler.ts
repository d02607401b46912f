// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import {
	BackgroundTaskConnectorFactory,
	type IScheduledTaskInfo,
	type IScheduledTaskTime,
	type ITaskSchedulerComponent
} from "@twin.org/background-task-models";
import { BaseError, GeneralError, Is } from "@twin.org/core";
import { LoggingConnectorFactory, type ILoggingConnector } from "@twin.org/logging-models";
import { nameof } from "@twin.org/nameof";
import { MAX_RETAIN_MS } from "./config/settings.js";
import { toTaskUrn } from "./domain/taskModel.js";
import { EntityStorageBackgroundTaskConnector } from "./entityStorageBackgroundTaskConnector.js";
import {
	registerInProcessHandler,
	unregisterInProcessHandler
} from "./execution/inProcessHandlers.js";
import type { IClusteredTaskSchedulerConstructorOptions } from "./models/IClusteredTaskSchedulerConstructorOptions.js";

/**
 * The prefix of the task types and schedule names of the scheduler's tasks.
 */
const PREFIX = "task-scheduler:";

/**
 * The period of a time without intervals (it runs once): a century, so its schedule never fires
 * a second slot.
 */
const ONCE = MAX_RETAIN_MS;

/**
 * A task added on this node: its times and its callback, and the handler module standing for the
 * callback once declared.
 */
interface ITaskEntry {
	times: IScheduledTaskTime[];
	callback: () => Promise<void>;
	module?: string;
}

/**
 * A drop-in for TWIN's TaskSchedulerService whose occurrences run once across nodes: each node
 * adds the same tasks with its own in-process callbacks; each time of a task is a recurring
 * schedule of the background task connector (`task-scheduler:<taskId>:<index>`), whose slot
 * tasks (type `task-scheduler:<taskId>`) run the callback of the node that claims them. On the
 * native PostgreSQL backend each occurrence therefore runs on exactly one node; over entity
 * storage, on this instance. The callbacks run on the claiming node's main thread, whatever the
 * connector's executionMode. Logs the original's keys (taskAdded, taskRemoved, taskTriggered,
 * taskFailed).
 */
export class ClusteredTaskScheduler implements ITaskSchedulerComponent {
	/**
	 * Runtime name for the class.
	 */
	public readonly CLASS_NAME: string = nameof<ClusteredTaskScheduler>();

	/**
	 * The logging connector.
	 * @internal
	 */
	private readonly _logging?: ILoggingConnector;

	/**
	 * The background task connector's registered name.
	 * @internal
	 */
	private readonly _connectorType: string;

	/**
	 * The tasks added on this node.
	 * @internal
	 */
	private readonly _tasks = new Map<string, ITaskEntry>();

	/**
	 * The connector, between start() and stop().
	 * @internal
	 */
	private _connector?: EntityStorageBackgroundTaskConnector;

	/**
	 * Create a new ClusteredTaskScheduler.
	 * @param options The options: TaskSchedulerService's and backgroundTaskConnectorType.
	 */
	constructor(options?: IClusteredTaskSchedulerConstructorOptions) {
		this._logging = LoggingConnectorFactory.getIfExists<ILoggingConnector>(
			options?.loggingConnectorType ?? "logging"
		);
		this._connectorType = options?.backgroundTaskConnectorType ?? "background-task";
	}

	/**
	 * Look the connector up and declare the tasks added so far. Start it after the connector.
	 * @param nodeIdentity The identity of the node starting the component.
	 * @returns Nothing.
	 * @throws GeneralError notClusterable when the registered connector is not this package's.
	 */
	public async start(nodeIdentity?: string): Promise<void> {
		const connector = BackgroundTaskConnectorFactory.get(this._connectorType);
		if (!(connector instanceof EntityStorageBackgroundTaskConnector)) {
			throw new GeneralError(this.CLASS_NAME, "notClusterable", {
				connectorType: this._connectorType
			});
		}
		this._connector = connector;
		for (const taskId of this._tasks.keys()) {
			await this.declare(taskId);
		}
	}

	/**
	 * Stop running occurrences on this node; the schedules stay for the other nodes.
	 * @param nodeIdentity The identity of the node stopping the component.
	 * @returns Nothing.
	 */
	public async stop(nodeIdentity?: string): Promise<void> {
		for (const taskId of this._tasks.keys()) {
			await this.release(taskId);
		}
		this._connector = undefined;
	}

	/**
	 * Add (or replace) a task: each time runs the callback at nextTriggerTime (default: one
	 * interval from now) and every interval after it, or once when it has no interval.
	 * @param taskId The id of the task.
	 * @param times The times.
	 * @param taskCallback The callback.
	 * @returns Nothing.
	 */
	public async addTask(
		taskId: string,
		times: IScheduledTaskTime[],
		taskCallback: () => Promise<void>
	): Promise<void> {
		const previous = this._tasks.get(taskId);
		this._tasks.set(taskId, {
			times: times.map(time => ({
				...time,
				nextTriggerTime: Is.empty(time.nextTriggerTime)
					? Date.now() + intervalMs(time)
					: time.nextTriggerTime
			})),
			callback: taskCallback,
			module: previous?.module
		});
		this.log("taskAdded", { id: taskId });
		if (this._connector) {
			await this.declare(taskId);
		}
	}

	/**
	 * Remove a task: its schedules go (for every node) and this node runs it no more.
	 * @param taskId The id of the task.
	 * @returns Nothing.
	 */
	public async removeTask(taskId: string): Promise<void> {
		if (!this._tasks.has(taskId)) {
			return;
		}
		this.log("taskRemoved", { id: taskId });
		if (this._connector) {
			await this.release(taskId);
			await this.unscheduleFrom(taskId, 0);
		}
		this._tasks.delete(taskId);
	}

	/**
	 * The tasks added on this node, each time with its next trigger time (from the stored
	 * schedules once started: the same on every node).
	 * @returns The tasks information.
	 */
	public async tasksInfo(): Promise<IScheduledTaskInfo> {
		const slots = new Map<string, { nextSlot?: string; lastSlot?: string }>();
		for (const schedule of (await this._connector?.getSchedules()) ?? []) {
			slots.set(schedule.name, schedule);
		}
		const info: IScheduledTaskInfo = { tasks: {} };
		for (const [taskId, entry] of this._tasks) {
			info.tasks[taskId] = entry.times.map((time, index) => {
				const stored = slots.get(scheduleName(taskId, index));
				if (!stored) {
					return { ...time };
				}
				const once = intervalMs(time) === 0;
				const next =
					(once && stored.lastSlot !== undefined) || stored.nextSlot === undefined
						? undefined
						: Date.parse(stored.nextSlot);
				return { ...time, nextTriggerTime: next };
			});
		}
		return info;
	}

	/**
	 * Register this node's handler of a task and upsert its schedules (keeping the stored slots of
	 * a time whose interval is unchanged), removing those of times it no longer has.
	 * @param taskId The id of the task.
	 * @internal
	 */
	private async declare(taskId: string): Promise<void> {
		const entry = this._tasks.get(taskId);
		const connector = this._connector;
		if (!entry || !connector) {
			return;
		}
		entry.module ??= registerInProcessHandler(async (payload, id) => this.run(taskId, id));
		await connector.registerHandler(`${PREFIX}${taskId}`, entry.module, "run");
		for (let index = 0; index < entry.times.length; index++) {
			const time = entry.times[index];
			await connector.schedule(scheduleName(taskId, index), {
				type: `${PREFIX}${taskId}`,
				every: intervalMs(time) || ONCE,
				startAt: time.nextTriggerTime,
				catchUp: "none"
			});
		}
		await this.unscheduleFrom(taskId, entry.times.length);
	}

	/**
	 * Unregister this node's handler of a task.
	 * @param taskId The id of the task.
	 * @internal
	 */
	private async release(taskId: string): Promise<void> {
		const entry = this._tasks.get(taskId);
		if (entry?.module) {
			await this._connector?.unregisterHandler(`${PREFIX}${taskId}`);
			unregisterInProcessHandler(entry.module);
			entry.module = undefined;
		}
	}

	/**
	 * Remove a task's schedules from an index on.
	 * @param taskId The id of the task.
	 * @param from The first index removed.
	 * @internal
	 */
	private async unscheduleFrom(taskId: string, from: number): Promise<void> {
		const prefix = `${PREFIX}${taskId}:`;
		for (const schedule of (await this._connector?.getSchedules()) ?? []) {
			const index = schedule.name.startsWith(prefix)
				? Number(schedule.name.slice(prefix.length))
				: -1;
			if (index >= from) {
				await this._connector?.unschedule(schedule.name);
			}
		}
	}

	/**
	 * Run an occurrence on this node (the handler of its slot task): the callback, whose error is
	 * logged as the original logs it.
	 * @param taskId The id of the scheduled task.
	 * @param storageId The slot task's storage id.
	 * @internal
	 */
	private async run(taskId: string, storageId: string | undefined): Promise<void> {
		const entry = this._tasks.get(taskId);
		if (!entry) {
			return;
		}
		const slotTask = storageId
			? await this._connector?.get(
					toTaskUrn(EntityStorageBackgroundTaskConnector.NAMESPACE, storageId)
				)
			: undefined;
		this.log("taskTriggered", {
			id: taskId,
			time: slotTask?.dateCreated ?? new Date().toISOString()
		});
		try {
			await entry.callback();
		} catch (error) {
			this.log("taskFailed", { id: taskId }, error);
		}
	}

	/**
	 * Log at info level, as the original does (taskFailed included).
	 * @param message The message key.
	 * @param data The data.
	 * @param error The error, when one.
	 * @internal
	 */
	private log(message: string, data: { [key: string]: unknown }, error?: unknown): void {
		void this._logging?.log({
			level: "info",
			source: this.CLASS_NAME,
			ts: Date.now(),
			message,
			data,
			error: Is.undefined(error) ? undefined : BaseError.fromError(error)
		});
	}
}

/**
 * A time's interval in whole ms, at least 1 when it has one (0 when it has none: it runs once).
 * @param time The time.
 * @returns The interval.
 */
function intervalMs(time: IScheduledTaskTime): number {
	const ms =
		(time.intervalDays ?? 0) * 86_400_000 +
		(time.intervalHours ?? 0) * 3_600_000 +
		(time.intervalMinutes ?? 0) * 60_000;
	return ms > 0 ? Math.max(1, Math.round(ms)) : 0;
}

/**
 * The schedule of a task's time.
 * @param taskId The id of the task.
 * @param index The time's index.
 * @returns The name.
 */
function scheduleName(taskId: string, index: number): string {
	return `${PREFIX}${taskId}:${index}`;
}
