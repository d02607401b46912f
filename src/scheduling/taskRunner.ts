// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { NOT_STARTED, type ITaskExecutor } from "../contracts/ITaskExecutor.js";
import { outsideTaskContext } from "../utils/taskContext.js";
import type { ITaskSource, QueuedTask } from "../contracts/ITaskSource.js";
import type { TaskLog } from "../utils/taskLog.js";
import { removeOnSettle } from "../domain/retention.js";
import { dueAt } from "../domain/rules.js";
import type { IRegisteredHandler, ISchedulerSettings } from "../contracts/schedulerModels.js";
import { ClaimSteps } from "./claimSteps.js";
import { NodeMetrics } from "./nodeMetrics.js";
import { afterAttempt, handlerJob, runAttempt } from "./handlerJob.js";
import { ProgressWrites } from "./progressWrites.js";
import { RunAborts } from "./runAborts.js";
import { RunCount } from "./runCount.js";
import { StorageRetries } from "./storageRetries.js";
import { callStateCallback } from "./stateCallback.js";
import type { IRunSlot } from "./IRunSlot.js";
import { RunRecord } from "./runRecord.js";
import { RunRecorder } from "./runRecorder.js";
import type { Timers } from "./timers.js";
import { startAttempt, type AttemptTelemetry } from "../telemetry/taskTelemetry.js";

/**
 * What begin() comes to: the claimed task and its telemetry; or, when the task was not claimable
 * now, the task to queue again if it is pending for later; undefined when there is nothing to run.
 */
type Begun =
	| { task: BackgroundTask; telemetry: AttemptTelemetry | undefined }
	| { pendingLater: QueuedTask | undefined }
	| undefined;

/**
 * Runs one task from claim to record: claim (re-read from storage), state-change callback,
 * handler in the executor, settle by the rules, record, state-change callback.
 *
 * A storage call that fails during claim or record is retried with backoff while the instance
 * lives, the outcome held in memory meanwhile, so a task is never lost or left processing because
 * one write failed. After abandon() (stop() ran out of time) nothing more is written: a task
 * still running stays processing in storage and the next start recovers it.
 */
export class TaskRunner {
	/**
	 * Set once stop() gives up on running tasks.
	 * @internal
	 */
	private _abandoned = false;

	/**
	 * The tasks this runner has claimed and not yet recorded, and the aborts asked of their runs.
	 * @internal
	 */
	private readonly _aborts: RunAborts;

	/**
	 * The runs in progress, which stop() waits for and abandon() gives abortGrace to end.
	 * @internal
	 */
	private readonly _runs = new RunCount();

	/**
	 * When this runner (one start of the scheduler) was created: processing tasks modified before
	 * then are recovered, later ones are running elsewhere.
	 * @internal
	 */
	private readonly _startedAt = Date.now();

	/**
	 * Retries of failed storage calls, until they succeed or the runner is abandoned.
	 * @internal
	 */
	private readonly _retries: StorageRetries;

	/**
	 * The progress running handlers report, on its way to storage.
	 * @internal
	 */
	private readonly _progress: ProgressWrites;

	/**
	 * The steps after a handler's outcome: its settle, its report, the run's end.
	 * @internal
	 */
	private readonly _recorder: RunRecorder;

	/**
	 * The claim and the rate limit's wait, before a handler starts.
	 * @internal
	 */
	private readonly _steps: ClaimSteps;

	/**
	 * When this runner (one session) started, epoch ms.
	 * @returns The time.
	 */
	public get startedAt(): number {
		return this._startedAt;
	}

	/**
	 * Create a new TaskRunner.
	 * @param source The task source.
	 * @param executor The executor.
	 * @param settings The scheduler settings.
	 * @param log The log.
	 * @param timers The timers, for backoff pauses.
	 * @param metrics What this node measures of its own work.
	 */
	constructor(
		private readonly source: ITaskSource,
		private readonly executor: ITaskExecutor,
		private readonly settings: ISchedulerSettings,
		private readonly log: TaskLog,
		private readonly timers: Timers,
		private readonly metrics: NodeMetrics = new NodeMetrics()
	) {
		this._retries = new StorageRetries(log, timers, () => this._abandoned);
		this._steps = new ClaimSteps(
			source,
			settings,
			this._retries,
			timers,
			this._startedAt,
			() => this._abandoned
		);
		this._progress = new ProgressWrites(source, log, id => this._aborts.isClaimed(id));
		this._aborts = new RunAborts(executor);
		this._recorder = new RunRecorder(
			source,
			this._retries,
			this._aborts,
			metrics,
			log,
			() => this._abandoned,
			(handler, task) => this.notify(handler, task),
			(id, slot, requeue) => this.end(id, slot, requeue)
		);
		executor.setProgressListener(this._progress.report);
	}

	/**
	 * Run one task. While it waits for its record, a run keeps alive its RunRecord and its slot, not
	 * a suspended async frame or a chain of closures and promises (docs/performance.md, "Hot path").
	 * @param type The task type.
	 * @param handler The handler.
	 * @param id The task id.
	 * @param mayStart Whether a new task of the type may still start (false once stop() began or
	 * while the type is paused).
	 * @param slot Told when the handler has returned and when the run has ended.
	 */
	public run(
		type: string,
		handler: IRegisteredHandler,
		id: string,
		mayStart: (type: string) => boolean,
		slot: IRunSlot
	): void {
		this._runs.begin();
		// Outside any handler's context: a run started by a pump that an inline handler's create()
		// queued must not hand that handler's context to this task's callbacks.
		// runTask and attempt catch what they meet and end the run themselves: nothing waits for
		// their promises.
		void outsideTaskContext(() => this.runTask(type, handler, id, mayStart, slot));
	}

	/**
	 * How many runs of a type may be in flight for each of its slots: 1 for a serial or rate-limited
	 * type, else what the executor allows (ITaskExecutor.slotDepth).
	 * @param handler The type's handler.
	 * @param type The task type.
	 * @returns The runs a slot, at least 1.
	 */
	public slotDepth(handler: IRegisteredHandler, type: string): number {
		if (handler.serial || handler.rateLimit !== undefined) {
			return 1;
		}
		return Math.max(1, this.executor.slotDepth?.(handler, type) ?? 1);
	}

	/**
	 * Wait until no run of this runner is in progress. No run starts once stop() began, so this
	 * waits for the end of every run started before it.
	 */
	public async idle(): Promise<void> {
		await this._runs.idle();
	}

	/**
	 * The body of run(): the claim, then the attempt, which ends the run itself; or the run's end
	 * at once when there is nothing to run.
	 * @param type The task type.
	 * @param handler The handler.
	 * @param id The task id.
	 * @param mayStart Whether a new task of the type may still start.
	 * @param slot The run's slot.
	 * @internal
	 */
	private async runTask(
		type: string,
		handler: IRegisteredHandler,
		id: string,
		mayStart: (type: string) => boolean,
		slot: IRunSlot
	): Promise<void> {
		let started: Begun;
		try {
			started = await this.begin(type, handler, id, mayStart);
		} catch (err) {
			this.log.log("error", "unexpectedError", { id }, err);
			started = undefined;
		}
		if (started !== undefined && "task" in started) {
			// Not awaited: this frame and its promise need not stay alive while the record waits.
			void this.attempt(type, handler, started.task, started.telemetry, slot);
		} else {
			this.end(id, slot, started?.pendingLater);
		}
	}

	/**
	 * A run has ended: its slot is told, then the count of runs.
	 * @param id The task id.
	 * @param slot The run's slot.
	 * @param requeue The task to queue again, if any.
	 * @internal
	 */
	private end(id: string, slot: IRunSlot, requeue: QueuedTask | undefined): void {
		try {
			slot.ended(requeue);
		} catch (err) {
			this.log.log("error", "unexpectedError", { id }, err);
		}
		this._runs.end();
	}

	/**
	 * A run up to its handler's call: the claim, the rate limit, the claim's callback, "start".
	 * @param type The task type.
	 * @param handler The handler.
	 * @param id The task id.
	 * @param mayStart Whether a new task of the type may still start.
	 * @returns What the run comes to before its handler (Begun).
	 * @internal
	 */
	private async begin(
		type: string,
		handler: IRegisteredHandler,
		id: string,
		mayStart: (type: string) => boolean
	): Promise<Begun> {
		// A task the source holds claimed for this instance is taken at once; any other is claimed
		// in storage.
		const held = mayStart(type) ? this.source.claimHeld?.(id) : undefined;
		const claim =
			held || this._abandoned ? undefined : await this._steps.claim(type, id, handler, mayStart);
		const task = held ?? claim?.claimed;
		if (!task) {
			// Not claimable now. If it is still pending for this thread with a due time that moved
			// (the queue held a stale ref), hand it back to be queued at its real due time.
			return { pendingLater: claim?.pendingLater };
		}
		if (this._abandoned) {
			// The claim completed after stop() gave up: leave the task processing for recovery.
			this.source.release(id);
			return undefined;
		}
		this._aborts.claimed(id);
		if (handler.rateLimit && this.source.claimPolicy.sharesRateLimit) {
			// The type's rate limit holds across every node, by a counter in the source.
			await this._steps.waitForStart(type, handler.rateLimit.max, handler.rateLimit.per, id);
		}
		// The original's order: the callback hears of the claim, then "start" is logged.
		const claimNotified = this.notify(handler, task);
		if (claimNotified) {
			await claimNotified;
		}
		this.log.log("info", "start", { id, type });
		const startedMs = Date.now();
		const dueMs = dueAt(task);
		this.metrics.started(startedMs, dueMs);
		// Undefined at the cost of one read unless an OpenTelemetry provider is registered.
		let telemetry = startAttempt(type, task, startedMs, dueMs);
		if (telemetry instanceof Promise) {
			telemetry = await telemetry;
		}
		return { task, telemetry };
	}

	/**
	 * The handler's attempt, then its outcome handed to the RunRecorder as a RunRecord, which
	 * writes it, reports it and ends the run. Only the handler is awaited here: a task waiting for
	 * its record keeps its RunRecord alive, not this frame.
	 * @param type The task type.
	 * @param handler The handler.
	 * @param claimed The task as claimed.
	 * @param telemetry The attempt's span and measurements, if a provider is registered.
	 * @param slot The run's slot, told when the handler has returned and when the run ends.
	 * @internal
	 */
	private async attempt(
		type: string,
		handler: IRegisteredHandler,
		claimed: BackgroundTask,
		telemetry: AttemptTelemetry | undefined,
		slot: IRunSlot
	): Promise<void> {
		const id = claimed.id;
		let record: RunRecord | undefined;
		try {
			// abort(id) during the claim's callback: the handler is not called.
			const outcome = await runAttempt(
				this.executor,
				handlerJob(this.settings, type, handler, claimed, telemetry?.carrier),
				handler.timeout,
				this._aborts.reasonOf(id)
			);
			slot.handlerDone();
			telemetry?.handlerEnded(Date.now());
			// The last progress the handler reported comes with its outcome; when the outcome has
			// none (a timeout, a worker that died), the latest that reached this runner is recorded.
			const reported = this._progress.end(id);
			const progress = outcome.progress !== undefined ? outcome.progress : reported;
			if (outcome === NOT_STARTED && this._aborts.reasonOf(id) === undefined) {
				// stop() ran out of time before the handler was called: the task never ran, so it is
				// not settled; it stays processing (abandon() releases the claim) for the next start.
				telemetry?.end(undefined, Date.now());
			} else {
				const task = progress === undefined ? claimed : { ...claimed, progress };
				// An abort(id) asked before this point wins over the handler's outcome; a later one is
				// refused until the outcome is recorded.
				const next = afterAttempt(this.settings, task, outcome, this._aborts.decide(id));
				const remove = removeOnSettle(next, this.settings.failedRetainFor);
				record = new RunRecord(
					this._recorder,
					type,
					handler,
					next,
					task.dateModified,
					remove,
					telemetry,
					slot
				);
			}
		} catch (err) {
			this.log.log("error", "unexpectedError", { id }, err);
		}
		if (record === undefined) {
			this.end(id, slot, undefined);
		} else {
			this._recorder.write(record);
		}
	}

	/**
	 * abort(id): a run of this runner ends cancelled with the reason (RunAborts).
	 * @param id The task id.
	 * @param reason The reason.
	 * @param held The source holds the task for this instance (another node asked): an abort of
	 * a task whose run has not begun is kept for when it does.
	 * @returns True when the task is claimed here and its outcome not decided yet.
	 */
	public abort(id: string, reason: string, held = false): boolean {
		return !this._abandoned && this._aborts.request(id, reason, held);
	}

	/**
	 * Give up on running tasks. First fire every running handler's signal and give the runs
	 * abortGrace to end: one that ends in time is recorded and reported as usual (nothing is
	 * abandoned yet), and no handler starts meanwhile. Then end backoff pauses, write nothing more,
	 * terminate the workers.
	 */
	public async abandon(): Promise<void> {
		if (!this._abandoned && this.executor.abortAll() > 0 && this._runs.active > 0) {
			await this.timers.race(this._runs.idle(), this.settings.abortGrace);
		}
		this._abandoned = true;
		// Release the claims now, while no later start() can have claimed these tasks again: they
		// stay processing in storage and the next start recovers them.
		this._aborts.clear(id => this.source.release(id));
		this.timers.cancelPauses();
		await this.executor.close();
	}

	/**
	 * Call the state-change callback (see callStateCallback), unless abandoned.
	 * @param handler The handler.
	 * @param task The task.
	 * @returns The callback's end to wait for, if there is a callback to wait for.
	 * @internal
	 */
	private notify(handler: IRegisteredHandler, task: BackgroundTask): Promise<void> | undefined {
		return this._abandoned ? undefined : callStateCallback(handler, task, this.log);
	}
}
