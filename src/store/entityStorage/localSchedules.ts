// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IScheduleStore, IStoredSchedule } from "../../contracts/IScheduleStore.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";

/**
 * The schedules of one instance over entity storage, in its memory: the entity-storage interface
 * has no conditional write, so two instances could not share a slot safely. Each instance fires
 * its own schedules, once per slot; another instance on the same store with the same schedule
 * fires it too.
 */
export class LocalSchedules implements IScheduleStore {
	/**
	 * Not shared: each instance has its own.
	 */
	public readonly shared = false;

	/**
	 * The schedules by name.
	 * @internal
	 */
	private readonly _schedules = new Map<string, IStoredSchedule>();

	/**
	 * Create the schedules of an instance.
	 * @param _insertMany Stores the tasks of fired slots.
	 */
	constructor(private readonly _insertMany: (tasks: BackgroundTask[]) => Promise<void>) {}

	/**
	 * No other instance changes these schedules.
	 * @param changed Unused.
	 */
	public listen(changed: () => void): void {}

	/**
	 * Insert or update a schedule, keeping its slots when its timing is unchanged.
	 * @param schedule The schedule.
	 * @returns The schedule as stored.
	 */
	public async save(schedule: IStoredSchedule): Promise<IStoredSchedule> {
		const stored = this._schedules.get(schedule.name);
		const kept =
			stored !== undefined &&
			stored.every === schedule.every &&
			stored.cron === schedule.cron &&
			stored.timezone === schedule.timezone;
		const saved: IStoredSchedule = kept
			? { ...schedule, nextSlot: stored.nextSlot, lastSlot: stored.lastSlot }
			: { ...schedule };
		this._schedules.set(schedule.name, saved);
		return { ...saved };
	}

	/**
	 * Remove a schedule.
	 * @param name The name.
	 * @returns True when it existed.
	 */
	public async remove(name: string): Promise<boolean> {
		return this._schedules.delete(name);
	}

	/**
	 * Every schedule and this process's clock.
	 * @returns The schedules and now.
	 */
	public async list(): Promise<{ schedules: IStoredSchedule[]; now: number }> {
		return {
			schedules: [...this._schedules.values()]
				.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
				.map(s => ({ ...s })),
			now: Date.now()
		};
	}

	/**
	 * Move the next slot when it is still the one expected and due, then store the tasks; the move
	 * is undone when they could not be stored, so the slot fires again.
	 * @param name The name.
	 * @param expected The next slot read.
	 * @param next The next slot to store.
	 * @param last The last slot fired.
	 * @param tasks The tasks.
	 * @returns True when this call moved the slot.
	 */
	public async fire(
		name: string,
		expected: number,
		next: number | undefined,
		last: number,
		tasks: BackgroundTask[]
	): Promise<boolean> {
		const stored = this._schedules.get(name);
		if (stored?.nextSlot !== expected || expected > Date.now()) {
			return false;
		}
		const lastBefore = stored.lastSlot;
		stored.nextSlot = next;
		stored.lastSlot = last;
		try {
			await this._insertMany(tasks);
		} catch (err) {
			if (this._schedules.get(name) === stored && stored.nextSlot === next) {
				stored.nextSlot = expected;
				stored.lastSlot = lastBefore;
			}
			throw err;
		}
		return true;
	}
}
