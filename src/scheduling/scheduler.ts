// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import type { ITaskExecutor } from "../contracts/ITaskExecutor.js";
import type { ITaskSource, QueuedTask } from "../contracts/ITaskSource.js";
import type { TaskLog } from "../utils/taskLog.js";
import { NodeMetrics } from "./nodeMetrics.js";
import { dueAt } from "../domain/rules.js";
import { TaskFeed } from "./taskFeed.js";
import { TaskQueue } from "./taskQueue.js";
import { toRef, type ITaskRef } from "./taskRef.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../contracts/schedulerModels.js";
import { TaskRunner } from "./taskRunner.js";
import { Timers } from "./timers.js";

/**
 * Decides which task runs next and when.
 *
 * Each registered type has a TaskQueue (its runnable tasks, in order) and a number of slots
 * (its concurrency); all types share `globalLimit` in-flight tasks (twice the worker count in worker
 * mode, so a worker never waits for the main thread's storage work). `pump()` fills free slots
 * round-robin, one task per type per round, so a busy type never starves another.
 *
 * Work reaches a queue by three routes: `notifyDue` (a task this instance created or retried: no
 * storage query), scans of storage through the TaskFeed (at start, on registering a type, when a
 * partial queue runs low, and every pollInterval for tasks that reached storage by other routes),
 * and re-queuing when a run leaves its task pending. The only timers are: one wake-up for the
 * earliest future start (due time, taskInterval gap or scan backoff), the poll, the retained-task
 * sweep, and backoff pauses while storage fails.
 *
 * In worker mode a claimed task may wait briefly for a free worker (the executor hands jobs to
 * the pool only as workers free up); its timeout starts when its handler starts.
 */
export class Scheduler {
	/**
	 * The queues of registered types.
	 * @internal
	 */
	private readonly _queues = new Map<string, TaskQueue>();

	/**
	 * The queues as a list, for round-robin.
	 * @internal
	 */
	private _order: TaskQueue[] = [];

	/**
	 * The running sets of types unregistered in this session. Registering such a type again gives
	 * the new queue the same set, so the tasks still running from before are neither queued and
	 * claimed again (a processing task is claimable, for recovery) nor left out of the type's
	 * concurrency. Cleared on start, which begins from storage.
	 * @internal
	 */
	private readonly _unregisteredRunning = new Map<string, Set<string>>();

	/**
	 * Where round-robin starts next.
	 * @internal
	 */
	private _next = 0;

	/**
	 * Tasks taken from a queue and not yet finished, all types.
	 * @internal
	 */
	private _inFlight = 0;

	/**
	 * The number of the current session (one start..stop). A run abandoned by stop() can still
	 * settle after a later start() (inline mode: its handler cannot be terminated); its bookkeeping
	 * belongs to its own session and must not touch the new session's queues or in-flight count,
	 * or the new session would forget that it is running the recovered task and claim it again.
	 * @internal
	 */
	private _session = 0;

	/**
	 * Background work (runs, scans, sweeps) that stop() waits for.
	 * @internal
	 */
	private readonly _work = new Set<Promise<void>>();

	/**
	 * The source is open for this session (wake-ups before that are answered by start's scans).
	 * @internal
	 */
	private _sourceOpen = false;

	/**
	 * A pump is queued as a microtask.
	 * @internal
	 */
	private _pumpQueued = false;

	/**
	 * The state of the scheduler.
	 * @internal
	 */
	private _state: "stopped" | "started" | "stopping" = "stopped";

	/**
	 * The stop in progress, which a start() or a second stop() waits for.
	 * @internal
	 */
	private _stopping: Promise<void> = Promise.resolve();

	/**
	 * Runs one task from claim to record.
	 * @internal
	 */
	private _runner?: TaskRunner;

	/**
	 * The timers of this instance.
	 * @internal
	 */
	private readonly _timers = new Timers();

	/**
	 * Reads storage for the queues: scans, the unhandled-type report, the sweep.
	 * @internal
	 */
	private readonly _feed: TaskFeed;

	/**
	 * What this node measures of its own work, for statistics().
	 * @internal
	 */
	private readonly _metrics = new NodeMetrics();

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
		this._feed = new TaskFeed(source, settings, log);
	}

	/**
	 * Is the scheduler running.
	 * @returns True between start and stop.
	 */
	public get started(): boolean {
		return this._state === "started";
	}

	/**
	 * Start: sweep expired tasks, scan every registered type (this recovers tasks left processing
	 * by a crash), and start the poll and sweep timers. Harmless when already started.
	 */
	public async start(): Promise<void> {
		if (this._state === "stopping") {
			// Finish the stop in progress first, then start: the caller expects a started connector.
			await this._stopping;
		}
		if (this._state !== "stopped") {
			return;
		}
		this._state = "started";
		// A new session: runs abandoned by the last stop() no longer count (see _session).
		const session = ++this._session;
		this._inFlight = 0;
		this._timers.reset();
		this._runner = new TaskRunner(
			this.source,
			this.createExecutor(),
			this.settings,
			this.log,
			this._timers,
			this._metrics
		);
		this._sourceOpen = false;
		try {
			await this.source.open(type => this.wake(type));
			// Wake-ups count from here (start scans every type next): one that came while the
			// source was opening would have found it not open.
			this._sourceOpen = true;
		} catch (err) {
			// Nothing started: the caller learns why (a database that cannot be reached, say).
			this._runner = undefined;
			this._state = "stopped";
			throw err;
		}
		await this._feed.sweep();
		if (session !== this._session || this._state !== "started") {
			// stop() ran while the sweep was in flight (and maybe another start()): arming timers or
			// scanning now would outlive that stop and keep the process alive.
			return;
		}
		this._unregisteredRunning.clear();
		for (const queue of this._order) {
			queue.clear();
			this.track(this.scan(queue));
		}
		this._timers.every(this.settings.pollInterval, () => this.poll());
		this._timers.every(this.settings.cleanupInterval, () => this.track(this._feed.sweep()));
	}

	/**
	 * Stop: start nothing new, wait up to shutdownTimeout for running tasks to be recorded, then
	 * terminate the workers. A task still running stays processing in storage and the next start
	 * recovers it. Afterwards no timer, worker or storage write of this instance remains.
	 */
	public async stop(): Promise<void> {
		if (this._state === "stopping") {
			return this._stopping;
		}
		if (this._state !== "started") {
			return;
		}
		this._state = "stopping";
		this._stopping = this.drain();
		return this._stopping;
	}

	/**
	 * The body of stop(): wait for in-flight work within shutdownTimeout, then abandon the rest.
	 * @internal
	 */
	private async drain(): Promise<void> {
		this._timers.clearAll();
		const settled = Promise.allSettled([...this._work]);
		await this._timers.race(settled, this.settings.shutdownTimeout);
		await this._runner?.abandon();
		this._runner = undefined;
		this._timers.clearAll();
		try {
			// Gives back tasks claimed for the queues and not started (shared database).
			await this.source.close();
		} catch (err) {
			this.log.log("error", "unexpectedError", {}, err);
		}
		this._state = "stopped";
	}

	/**
	 * Register or replace the handler of a type; when started, its tasks start being processed.
	 * @param type The task type.
	 * @param handler The handler.
	 */
	public register(type: string, handler: IRegisteredHandler): void {
		const existing = this._queues.get(type);
		if (existing) {
			existing.replaceHandler(handler);
		} else {
			const queue = new TaskQueue(type, handler, this._unregisteredRunning.get(type));
			this._unregisteredRunning.delete(type);
			this._queues.set(type, queue);
			this._order = [...this._queues.values()];
			if (this.started && this._sourceOpen) {
				this.track(this.scan(queue));
			}
		}
		this.schedulePump();
	}

	/**
	 * Stop processing a type; running tasks of the type finish and are recorded.
	 * @param type The task type.
	 */
	public unregister(type: string): void {
		const queue = this._queues.get(type);
		if (queue) {
			this._queues.delete(type);
			this._order = [...this._queues.values()];
			// Remember what still runs, for a later registration of the type (see _unregisteredRunning).
			const running = queue.stillRunning();
			if (running) {
				this._unregisteredRunning.set(type, running);
			}
			// Tasks claimed for the queue (shared database) go back to any instance.
			const queued = queue.ids();
			if (this.source.claimPolicy.givesBackUnrun && queued.length > 0) {
				this.track(this.source.unclaim(queued));
			}
		}
	}

	/**
	 * A task was created or made due by this instance: queue it without a storage query (or, on a
	 * shared database, fetch its type).
	 * @param task The task as stored.
	 * @returns False when started and the type has no handler.
	 */
	public notifyDue(task: BackgroundTask): boolean {
		const queue = this._queues.get(task.type);
		if (!this.started) {
			return true;
		}
		if (!queue) {
			return false;
		}
		if (this.source.claimPolicy.dueNowIsFetched) {
			// A shared database: the task is claimed by whichever instance fetches it first. One due
			// later (startAfter) is queued here and claimed on its own when it falls due, unless
			// another node's fetch or poll took it first.
			if (dueAt(task) > Date.now()) {
				this.offer(queue, toRef(task));
			} else {
				this.wake(task.type);
			}
		} else {
			this.offer(queue, toRef(task));
		}
		return true;
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
		let running = 0;
		for (const queue of this._order) {
			running += queue.runningCount;
		}
		return { running, ...this._metrics.snapshot(Date.now()) };
	}

	/**
	 * Tasks of a type may have become due in the source (created or retried here or on another
	 * instance of a shared database): fetch that type.
	 * @param type The task type.
	 */
	public wake(type: string): void {
		const queue = this._queues.get(type);
		if (this.started && this._sourceOpen && queue) {
			this.track(this.scan(queue));
		}
	}

	/**
	 * A task was cancelled or removed by this instance: drop it from the queues.
	 * @param id The task id.
	 */
	public notifyGone(id: string): void {
		for (const queue of this._order) {
			queue.drop(id);
		}
	}

	/**
	 * Queue a pump for the end of the current microtask run, once.
	 * @internal
	 */
	private schedulePump(): void {
		if (!this._pumpQueued && this.started) {
			this._pumpQueued = true;
			queueMicrotask(() => {
				this._pumpQueued = false;
				this.pump();
			});
		}
	}

	/**
	 * Start every task that may start now, round-robin across types; then arm the wake-up timer
	 * for the earliest future start and refill queues that run low.
	 * @internal
	 */
	private pump(): void {
		if (!this.started || !this._runner) {
			return;
		}
		const now = Date.now();
		let wakeAt = Number.POSITIVE_INFINITY;
		let startedOne = true;
		while (startedOne && this._inFlight < this.settings.globalLimit) {
			startedOne = false;
			const count = this._order.length;
			for (let i = 0; i < count && this._inFlight < this.settings.globalLimit; i++) {
				const queue = this._order[(this._next + i) % count];
				const readyAt = queue.readyAt(now, this.settings.taskInterval);
				if (readyAt <= now) {
					this.startNext(queue, now);
					startedOne = true;
				} else {
					wakeAt = Math.min(wakeAt, readyAt);
				}
			}
			this._next = count > 0 ? (this._next + 1) % count : 0;
		}
		if (wakeAt < Number.POSITIVE_INFINITY) {
			this._timers.wakeAt(wakeAt, () => this.pump());
		}
		for (const queue of this._order) {
			// The feed decides when (TaskFeed.wantsRefill): a scan in flight answers this one too,
			// except claims, which overlap once a share of the local queue is free.
			if (queue.coverage.phase !== "complete" && this._feed.wantsRefill(queue)) {
				if (now >= queue.scanRetryAt) {
					this.track(this.scan(queue));
				} else {
					this._timers.wakeAt(queue.scanRetryAt, () => this.pump());
				}
			}
		}
	}

	/**
	 * Take the queue's next task and run it.
	 * @param queue The queue.
	 * @param now The current time.
	 * @internal
	 */
	private startNext(queue: TaskQueue, now: number): void {
		const ref = queue.startNext(now);
		this._inFlight++;
		const runner = this._runner as TaskRunner;
		const session = this._session;
		// On a shared database a task's slot is freed as soon as its handler returns, while its
		// outcome is recorded (batched with others) and reported: the task stays processing under
		// this node's lease until then, so nothing else can claim it, and the next task does not
		// wait for a commit. A serial type keeps its slot until the outcome is recorded, since its
		// next task may be claimed only then; over entity storage the slot is held to the end too.
		const pipelined = this.source.claimPolicy.freesSlotBeforeRecord && !queue.handler.serial;
		let released = false;
		const release = (): void => {
			if (!released) {
				released = true;
				this.release(queue, ref.id, session);
			}
		};
		const ended = (requeue: QueuedTask | undefined): void => {
			release();
			this.finished(queue, ref.id, session, requeue);
		};
		this.track(
			runner
				.run(queue.type, queue.handler, ref.id, this._mayStart, pipelined ? release : undefined)
				.then(ended, err => {
					this.log.log("error", "unexpectedError", { id: ref.id }, err);
					ended(undefined);
				})
		);
	}

	/**
	 * Whether a new task may still start (false once stop() began): one function for every run.
	 * @internal
	 */
	private readonly _mayStart = (): boolean => this.started;

	/**
	 * A run no longer needs its slot: free it, and pump.
	 * @param queue The queue the run came from.
	 * @param id The task id.
	 * @param session The session the run belongs to.
	 * @internal
	 */
	private release(queue: TaskQueue, id: string, session: number): void {
		// A run of an earlier session (abandoned by stop()) leaves this session's state alone.
		if (session !== this._session) {
			return;
		}
		queue.finish(id);
		this._inFlight--;
		this.schedulePump();
	}

	/**
	 * A run ended, its slot already freed (release): queue the task again if it is pending (a
	 * retry), or if it was made due while it ran (retry() during its final state-change callback).
	 * Over entity storage both happen in one step, so the task's next run cannot start while this
	 * one still holds its slot.
	 * @param queue The queue the run came from.
	 * @param id The task id.
	 * @param session The session the run belongs to.
	 * @param requeue The task, when the run left it pending.
	 * @internal
	 */
	private finished(
		queue: TaskQueue,
		id: string,
		session: number,
		requeue: QueuedTask | undefined
	): void {
		if (session !== this._session) {
			return;
		}
		const madeDue = queue.takeDueWhileRunning(id);
		// The type's current queue, which may be a new one when the type was registered again
		// meanwhile (it shares this queue's running set); none if unregistered.
		const current = this._queues.get(queue.type);
		const ref = madeDue ?? (requeue ? toRef(requeue) : undefined);
		if (ref && current && this.started) {
			this.offer(current, ref);
		}
		if (current && this.source.claimPolicy.serialNextIsFetched && current.handler.serial) {
			// A serial type on a shared database: its next task is claimed only now.
			this.wake(current.type);
		}
		this.schedulePump();
	}

	/**
	 * Queue a task that became due: at once, after the scan in flight, or when its run ends.
	 * @param queue The queue.
	 * @param ref The task.
	 * @internal
	 */
	private offer(queue: TaskQueue, ref: ITaskRef): void {
		if (queue.offer(ref)) {
			this.schedulePump();
		}
	}

	/**
	 * The poll: scan every type for tasks that reached storage by other routes, and report due
	 * tasks of types that have no handler.
	 * @internal
	 */
	private poll(): void {
		for (const queue of this._order) {
			this.track(this.scan(queue));
		}
		if (this.log.enabled) {
			this.track(this._feed.reportUnhandled(type => this._queues.has(type)));
		}
	}

	/**
	 * Scan one type's tasks in storage; then queue what arrived meanwhile and pump.
	 * @param queue The queue.
	 * @internal
	 */
	private async scan(queue: TaskQueue): Promise<void> {
		const isLive = (): boolean => this.started && this._queues.get(queue.type) === queue;
		const ran = await this._feed.scan(queue, isLive, this._runner?.startedAt ?? Date.now());
		if (!ran) {
			return;
		}
		for (const ref of queue.takeArrivedDuringScan()) {
			// On a shared database, a ref of the id queued or running now came from a claim made
			// since (a retry made the task due and a scan claimed it): it is newer than this one.
			if (!(this.source.claimPolicy.fetchedIsNewest && queue.has(ref.id))) {
				this.offer(queue, ref);
			}
		}
		if (queue.rescanWanted && isLive()) {
			this.track(this.scan(queue));
		}
		this.schedulePump();
	}

	/**
	 * Keep a background promise until it settles, so stop() can wait for it. It never rejects.
	 * @param work The work.
	 * @internal
	 */
	private track(work: Promise<unknown>): void {
		const tracked: Promise<void> = work.then(
			() => {
				this._work.delete(tracked);
			},
			err => {
				this._work.delete(tracked);
				this.log.log("error", "unexpectedError", {}, err);
			}
		);
		this._work.add(tracked);
	}
}
