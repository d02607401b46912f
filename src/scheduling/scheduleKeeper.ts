// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IScheduleStore, IStoredSchedule } from "../contracts/IScheduleStore.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { planSlots } from "../domain/scheduleSlots.js";
import type { TaskLog } from "../utils/taskLog.js";
import { Timers } from "./timers.js";
import { WorkTracker } from "./workTracker.js";

/**
 * How often the schedules are read again from the store whatever else happens, ms: a change
 * whose notice was lost is seen by then.
 */
export const SCHEDULE_REREAD_MS = 30_000;

/**
 * How long a pass waits before trying again a slot the store refused as not due yet (this
 * process's estimate of the store's clock ran ahead), ms.
 */
const REFUSED_RETRY_MS = 25;

/**
 * The phase of the keeper: it fires slots only while started.
 */
type KeeperPhase = "stopped" | "started";

/**
 * Fires the slots of recurring tasks' schedules as they come. It knows the schedules from the
 * store (read at start, after a change noticed, after a slot another instance fired first, and
 * every SCHEDULE_REREAD_MS), and keeps one wake-up at the earliest next slot. Time is the store's:
 * the offset between the store's clock and this process's is measured at each read, so a node
 * whose clock is a few seconds off wakes when the slot is due on the store's clock. Each pass asks
 * the store to fire each due schedule once (IScheduleStore.fire: a compare-and-set of the next
 * slot with its tasks, so on a shared store exactly one instance's pass fires a slot); a refused
 * fire is followed by a read, which shows what another instance stored.
 */
export class ScheduleKeeper {
	/**
	 * The schedules as last read or fired here, by name.
	 * @internal
	 */
	private _schedules = new Map<string, IStoredSchedule>();

	/**
	 * The store's clock minus this process's, ms.
	 * @internal
	 */
	private _offset = 0;

	/**
	 * The wake-up and the periodic read.
	 * @internal
	 */
	private readonly _timers = new Timers();

	/**
	 * The reads and passes in flight, which stop() waits for.
	 * @internal
	 */
	private readonly _work: WorkTracker;

	/**
	 * The phase, changed only by start() and stop().
	 * @internal
	 */
	private _phase: KeeperPhase = "stopped";

	/**
	 * The pass or read running, and whether another was asked for meanwhile.
	 * @internal
	 */
	private _running?: Promise<void>;

	/**
	 * A read is asked for before the next pass.
	 * @internal
	 */
	private _readAgain = true;

	/**
	 * A pass is asked for after the one running.
	 * @internal
	 */
	private _passAgain = false;

	/**
	 * Create a new ScheduleKeeper.
	 * @param _store Where the schedules live.
	 * @param _makeTask The task of a schedule's slot.
	 * @param _notifyDue Tells the scheduler of a task this instance stored.
	 * @param _log The log.
	 */
	constructor(
		private readonly _store: IScheduleStore,
		private readonly _makeTask: (schedule: IStoredSchedule, slot: number) => BackgroundTask,
		private readonly _notifyDue: (task: BackgroundTask) => void,
		private readonly _log: TaskLog
	) {
		this._work = new WorkTracker(_log);
	}

	/**
	 * This process's estimate of the store's clock.
	 * @returns Epoch ms.
	 */
	public now(): number {
		return Date.now() + this._offset;
	}

	/**
	 * Start firing: read the schedules, listen for changes, arm the wake-up and the periodic read.
	 */
	public start(): void {
		if (this._phase === "started") {
			return;
		}
		this._phase = "started";
		this._timers.reset();
		this._store.listen(() => this.changed());
		this._timers.every(SCHEDULE_REREAD_MS, () => this.changed());
		this.changed();
	}

	/**
	 * Stop firing and wait for a pass in flight.
	 */
	public async stop(): Promise<void> {
		this._phase = "stopped";
		this._timers.clearAll();
		this._store.listen(() => {});
		await this._work.settled();
	}

	/**
	 * The schedules changed (here or on another instance): read them again, then fire what is due.
	 */
	public changed(): void {
		this._readAgain = true;
		this.pass();
	}

	/**
	 * Run a pass now, or after the one running.
	 * @internal
	 */
	private pass(): void {
		if (this._phase !== "started") {
			return;
		}
		if (this._running) {
			this._passAgain = true;
			return;
		}
		this._running = this.runPasses().finally(() => {
			this._running = undefined;
			// A change told between the last pass's end and now.
			if (this._passAgain) {
				this.pass();
			}
		});
		this._work.track(this._running);
	}

	/**
	 * Passes until none is asked for: read when asked, fire what is due, arm the wake-up.
	 * @internal
	 */
	private async runPasses(): Promise<void> {
		let refused = false;
		do {
			this._passAgain = false;
			try {
				if (this._readAgain) {
					this._readAgain = false;
					await this.read();
				}
				refused = await this.fireDue();
			} catch (err) {
				this._log.log("warn", "scheduleFailed", {}, err);
				// Try again at the next periodic read.
				this._readAgain = true;
				return;
			}
		} while (this._passAgain && this._phase === "started");
		this.arm(refused);
	}

	/**
	 * Read the schedules and the store's clock.
	 * @internal
	 */
	private async read(): Promise<void> {
		const before = Date.now();
		const { schedules, now } = await this._store.list();
		this._offset = now - Math.round((before + Date.now()) / 2);
		this._schedules = new Map(schedules.map(s => [s.name, s]));
	}

	/**
	 * Fire every due schedule once.
	 * @returns True when the store refused one (another instance fired it, or not due yet): the
	 * schedules are read again before the next pass.
	 * @internal
	 */
	private async fireDue(): Promise<boolean> {
		let refused = false;
		for (const schedule of [...this._schedules.values()]) {
			if (this._phase !== "started") {
				return refused;
			}
			const expected = schedule.nextSlot;
			if (expected === undefined || expected > this.now()) {
				continue;
			}
			const plan = planSlots(schedule, expected, this.now(), schedule.catchUp);
			const tasks = plan.fire.map(slot => this._makeTask(schedule, slot));
			if (await this._store.fire(schedule.name, expected, plan.next, plan.last, tasks)) {
				schedule.nextSlot = plan.next;
				schedule.lastSlot = plan.last;
				for (const task of tasks) {
					this._notifyDue(task);
				}
				if (plan.fire.length < 1) {
					this._log.log("info", "slotsSkipped", {
						name: schedule.name,
						last: new Date(plan.last).toISOString()
					});
				}
			} else {
				refused = true;
				this._readAgain = true;
			}
		}
		return refused;
	}

	/**
	 * Arm the wake-up at the earliest next slot on the store's clock (a little later after a
	 * refusal, so a slot the store holds as not due yet is not asked for in a loop).
	 * @param refused Whether the last pass was refused a slot.
	 * @internal
	 */
	private arm(refused: boolean): void {
		if (this._phase !== "started") {
			return;
		}
		if (this._readAgain) {
			this._timers.wakeAt(Date.now() + REFUSED_RETRY_MS, () => this.pass());
			return;
		}
		let earliest: number | undefined;
		for (const schedule of this._schedules.values()) {
			if (
				schedule.nextSlot !== undefined &&
				(earliest === undefined || schedule.nextSlot < earliest)
			) {
				earliest = schedule.nextSlot;
			}
		}
		if (earliest !== undefined) {
			const at = earliest - this._offset;
			this._timers.wakeAt(refused ? Math.max(at, Date.now() + REFUSED_RETRY_MS) : at, () =>
				this.pass()
			);
		}
	}
}
