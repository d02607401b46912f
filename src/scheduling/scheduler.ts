// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { dueAt } from "../domain/rules.js";
import type { ITaskExecutor } from "../contracts/ITaskExecutor.js";
import type { ITaskSource, QueuedTask } from "../contracts/ITaskSource.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../contracts/schedulerModels.js";
import type { TaskLog } from "../utils/taskLog.js";
import { NodeMetrics } from "./nodeMetrics.js";
import { QueueRegistry } from "./queueRegistry.js";
import { QueueScans } from "./queueScans.js";
import { SchedulerLifecycle } from "./schedulerLifecycle.js";
import { SlotPump } from "./slotPump.js";
import { TaskFeed } from "./taskFeed.js";
import { toRef } from "./taskRef.js";
import { TaskRunner } from "./taskRunner.js";
import { Timers } from "./timers.js";
import { WorkTracker } from "./workTracker.js";

/**
 * Decides which task runs next and when; the facade's one entry to the scheduling layer.
 *
 * Each registered type has a TaskQueue (its runnable tasks, in order, see QueueRegistry); the
 * SlotPump starts them within the slots, and the TaskRunner runs each from claim to record. Work
 * reaches a queue by three routes: `notifyDue` (a task this instance created or retried: no
 * storage query), scans of storage (QueueScans: at start, on registering a type, when a partial
 * queue runs low, and every pollInterval for tasks that reached storage by other routes), and
 * re-queuing when a run leaves its task pending. The only timers are: one wake-up for the
 * earliest future start (due time, taskInterval gap or scan backoff), the poll, the
 * retained-task sweep, and backoff pauses while storage fails.
 */
export class Scheduler {
	/**
	 * The phase, the session and its runner.
	 * @internal
	 */
	private readonly _lifecycle = new SchedulerLifecycle();

	/**
	 * The queues of registered types.
	 * @internal
	 */
	private readonly _queues = new QueueRegistry();

	/**
	 * The timers of this instance.
	 * @internal
	 */
	private readonly _timers = new Timers();

	/**
	 * Background work (runs, scans, sweeps) that stop() waits for.
	 * @internal
	 */
	private readonly _work: WorkTracker;

	/**
	 * Reads storage for the queues: scans, the unhandled-type report, the sweep.
	 * @internal
	 */
	private readonly _feed: TaskFeed;

	/**
	 * When the queues are scanned.
	 * @internal
	 */
	private readonly _scans: QueueScans;

	/**
	 * Starts tasks within the slots.
	 * @internal
	 */
	private readonly _pump: SlotPump;

	/**
	 * What this node measures of its own work, for statistics().
	 * @internal
	 */
	private readonly _metrics = new NodeMetrics();

	/**
	 * The paused types: the pump starts none of their tasks and their queues are not scanned.
	 * Changed only by pause() and resume().
	 * @internal
	 */
	private readonly _paused = new Set<string>();

	/**
	 * The stop in progress, which a start() or a second stop() waits for.
	 * @internal
	 */
	private _stopping: Promise<void> = Promise.resolve();

	/**
	 * Create a new Scheduler.
	 * @param source The task source.
	 * @param createExecutor Creates the executor on start.
	 * @param settings The settings.
	 * @param log The log.
	 */
	constructor(
		private readonly source: ITaskSource,
		private readonly createExecutor: () => ITaskExecutor,
		private readonly settings: ISchedulerSettings,
		private readonly log: TaskLog
	) {
		const policy = source.claimPolicy;
		this._work = new WorkTracker(log);
		this._feed = new TaskFeed(source, settings, log);
		this._scans = new QueueScans(
			this._queues,
			this._lifecycle,
			this._feed,
			this._work,
			policy,
			log,
			() => this._pump.schedulePump(),
			this._paused
		);
		this._pump = new SlotPump(
			this._queues,
			this._lifecycle,
			this._scans,
			this._timers,
			policy,
			settings,
			this._paused
		);
	}

	/**
	 * Is the scheduler running.
	 * @returns True between start and stop.
	 */
	public get started(): boolean {
		return this._lifecycle.started;
	}

	/**
	 * Start: sweep expired tasks, scan every registered type (this recovers tasks left processing
	 * by a crash), and start the poll and sweep timers. Harmless when already started.
	 */
	public async start(): Promise<void> {
		if (this._lifecycle.phase === "stopping") {
			// Finish the stop in progress first, then start: the caller expects a started connector.
			await this._stopping;
		}
		if (this._lifecycle.phase !== "stopped") {
			return;
		}
		this._timers.reset();
		const runner = new TaskRunner(
			this.source,
			this.createExecutor(),
			this.settings,
			this.log,
			this._timers,
			this._metrics
		);
		// A new session: runs abandoned by the last stop() no longer count.
		const session = this._lifecycle.open(runner);
		this._pump.reset();
		// Storage is the source of truth for the new session: forget the last one's queues now,
		// before the source opens. From then on a wake-up may claim tasks into them; forgetting
		// those later would leave them claimed here and never run (docs/reliability.md).
		this._queues.forgetUnregistered();
		for (const queue of this._queues.all) {
			queue.clear();
		}
		try {
			await this.source.open(
				type => this.wake(type),
				(type, paused) => (paused ? this.pause(type) : this.resume(type)),
				(id, reason) => this._lifecycle.runner?.abort(id, reason, true)
			);
		} catch (err) {
			// Nothing started: the caller learns why (a database that cannot be reached, say).
			this._lifecycle.openFailed(session);
			throw err;
		}
		// Wake-ups count from here (start scans every type next): one that came while the source
		// was opening would have found it not open.
		this._lifecycle.opened(session);
		await this._feed.sweep();
		if (!this._lifecycle.isStarted(session)) {
			// stop() ran while the sweep was in flight (and maybe another start()): arming timers or
			// scanning now would outlive that stop and keep the process alive.
			return;
		}
		for (const queue of this._queues.all) {
			this._scans.request(queue);
		}
		this._timers.every(this.settings.pollInterval, () => this._scans.poll());
		this._timers.every(this.settings.cleanupInterval, () => this._work.track(this._feed.sweep()));
	}

	/**
	 * Stop: start nothing new, wait up to shutdownTimeout for running tasks to be recorded, then
	 * terminate the workers. A task still running stays processing in storage and the next start
	 * recovers it. Afterwards no timer, worker or storage write of this instance remains.
	 */
	public async stop(): Promise<void> {
		if (this._lifecycle.phase === "stopping") {
			return this._stopping;
		}
		if (!this._lifecycle.started) {
			return;
		}
		this._lifecycle.beginStop();
		this._stopping = this.drain();
		return this._stopping;
	}

	/**
	 * Register or replace the handler of a type; when started, its tasks start being processed.
	 * @param type The task type.
	 * @param handler The handler.
	 */
	public register(type: string, handler: IRegisteredHandler): void {
		const added = this._queues.add(type, handler);
		if (added && this._lifecycle.sourceOpen) {
			this._scans.request(added);
		}
		this._pump.schedulePump();
	}

	/**
	 * Stop processing a type; running tasks of the type finish and are recorded.
	 * @param type The task type.
	 */
	public unregister(type: string): void {
		const queued = this._queues.remove(type)?.ids() ?? [];
		if (this.source.claimPolicy.givesBackUnrun && queued.length > 0) {
			// Tasks claimed for the queue go back to any instance.
			this._work.track(this.source.unclaim(queued));
		}
	}

	/**
	 * A task was created or made due by this instance: queue it without a storage query, or wake
	 * its type when the source must fetch it (and so claim it) first.
	 * @param task The task as stored.
	 * @returns False when started and the type has no handler.
	 */
	public notifyDue(task: QueuedTask): boolean {
		const queue = this._queues.get(task.type);
		if (!this.started) {
			return true;
		}
		if (!queue) {
			return false;
		}
		if (this.source.claimPolicy.dueNowIsFetched && !(dueAt(task) > Date.now())) {
			// Whichever instance fetches it first claims it. One due later is queued here and
			// claimed on its own when it falls due, unless another instance took it first.
			this.wake(task.type);
		} else {
			this._pump.offer(queue, toRef(task));
		}
		return true;
	}

	/**
	 * Tasks of a type may have become due in the source (created or retried here or on another
	 * instance of a shared database): fetch that type.
	 * @param type The task type.
	 */
	public wake(type: string): void {
		this._scans.wake(type);
	}

	/**
	 * Start no new task of a type (running ones finish): its queued tasks are dropped, and given
	 * back when the source claimed them on fetch, and it is not scanned until resumed. No-op when
	 * already paused; a type without a handler may be paused.
	 * @param type The task type.
	 */
	public pause(type: string): void {
		if (this._paused.has(type)) {
			return;
		}
		this._paused.add(type);
		const queued = this._queues.get(type)?.takeQueued() ?? [];
		if (this.source.claimPolicy.givesBackUnrun && queued.length > 0) {
			this._work.track(this.source.unclaim(queued));
		}
	}

	/**
	 * Start a paused type's tasks again: its queue is scanned now rather than at the next poll (also
	 * when this scheduler had not learned of the pause: its tasks may be waiting all the same).
	 * @param type The task type.
	 */
	public resume(type: string): void {
		this._paused.delete(type);
		this.wake(type);
	}

	/**
	 * abort(id): stop the task's run when this instance's runner holds its claim (see
	 * TaskRunner.abort); also called by the source when another instance asked it.
	 * @param id The task id.
	 * @param reason The reason.
	 * @returns True when the task is claimed here.
	 */
	public abortRunning(id: string, reason: string): boolean {
		return this._lifecycle.runner?.abort(id, reason) ?? false;
	}

	/**
	 * A task was cancelled or removed by this instance: drop it from the queues.
	 * @param id The task id.
	 */
	public notifyGone(id: string): void {
		this._queues.drop(id);
	}

	/**
	 * This node's own figures: tasks running, finished in the last minute, start latency.
	 * @returns The figures.
	 */
	public statistics(): {
		running: number;
		completedLastMinute: number;
		startLatency: { p50?: number; p99?: number; samples: number };
	} {
		return { running: this._queues.runningCount(), ...this._metrics.snapshot(Date.now()) };
	}

	/**
	 * The body of stop(): wait for in-flight work within shutdownTimeout, then abandon the rest.
	 * @internal
	 */
	private async drain(): Promise<void> {
		this._timers.clearAll();
		// The runs are counted by the runner, the rest of the work by the tracker.
		await this._timers.race(
			Promise.all([this._work.settled(), this._lifecycle.runner?.idle()]),
			this.settings.shutdownTimeout
		);
		await this._lifecycle.runner?.abandon();
		this._timers.clearAll();
		try {
			// Gives back tasks claimed for the queues and not started (shared database).
			await this.source.close();
		} catch (err) {
			this.log.log("error", "unexpectedError", {}, err);
		}
		this._lifecycle.stopped();
	}
}
