// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { createHash } from "node:crypto";
import { Is } from "@twin.org/core";
import type { IStoredSchedule } from "../contracts/IScheduleStore.js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { iso } from "../domain/isoTime.js";
import { firstSlot } from "../domain/scheduleSlots.js";
import type { ISchedule } from "../models/ISchedule.js";
import type { IScheduleOptions } from "../models/IScheduleOptions.js";
import { ScheduleKeeper } from "../scheduling/scheduleKeeper.js";
import { newTask } from "./newTask.js";
import { startAtMs } from "./scheduleValidation.js";
import type { IConnectorParts } from "./wiring.js";

/**
 * The recurring tasks behind schedule(), unschedule() and getSchedules(), on valid arguments:
 * the schedules live in the source's schedule store, and a ScheduleKeeper fires their slots while
 * the connector is started.
 */
export class ScheduleCommands {
	/**
	 * Fires the slots while the connector is started.
	 */
	public readonly keeper: ScheduleKeeper;

	/**
	 * Create the commands over a connector's parts.
	 * @param parts The config, log, source and scheduler.
	 */
	constructor(private readonly parts: IConnectorParts) {
		this.keeper = new ScheduleKeeper(
			parts.source.schedules,
			(schedule, slot) => this.slotTask(schedule, slot),
			task => {
				if (!parts.scheduler.notifyDue(task)) {
					parts.log.log("error", "noHandler", { id: task.id, type: task.type });
				}
			},
			parts.log
		);
	}

	/**
	 * Insert or update a schedule by name; its first slot is startAt or counts from now on the
	 * store's clock, unless the stored schedule has the same timing, whose slots are kept.
	 * @param name The name.
	 * @param options The schedule.
	 */
	public async schedule(name: string, options: IScheduleOptions): Promise<void> {
		const schedule: IStoredSchedule = {
			name,
			type: options.type,
			catchUp: options.catchUp ?? "none",
			nextSlot: startAtMs(options.startAt) ?? firstSlot(options, this.keeper.now())
		};
		if (!Is.empty(options.payload)) {
			schedule.payload = JSON.parse(JSON.stringify(options.payload)) as unknown;
		}
		if (Is.undefined(options.every)) {
			schedule.cron = options.cron?.trim();
			if (!Is.undefined(options.timezone)) {
				schedule.timezone = options.timezone;
			}
		} else {
			schedule.every = options.every;
		}
		if (!Is.undefined(options.options)) {
			schedule.options = { ...options.options };
		}
		await this.parts.source.schedules.save(schedule);
		this.keeper.changed();
	}

	/**
	 * Remove a schedule; tasks it created are left as they are.
	 * @param name The name.
	 * @returns True when it existed.
	 */
	public async unschedule(name: string): Promise<boolean> {
		const removed = await this.parts.source.schedules.remove(name);
		this.keeper.changed();
		return removed;
	}

	/**
	 * The stored schedules, by name.
	 * @returns The schedules.
	 */
	public async list(): Promise<ISchedule[]> {
		const { schedules } = await this.parts.source.schedules.list();
		return schedules.map(toSchedule);
	}

	/**
	 * The task of a schedule's slot: created at the slot, with the schedule's payload and options;
	 * on a shared store its id is derived from the name and slot, so a slot can only ever store
	 * one task however often it is fired.
	 * @param schedule The schedule.
	 * @param slot The slot.
	 * @returns The task.
	 * @internal
	 */
	private slotTask(schedule: IStoredSchedule, slot: number): BackgroundTask {
		const task = newTask(
			this.parts.config,
			schedule.type,
			schedule.payload,
			schedule.options,
			slot
		);
		if (this.parts.source.schedules.shared) {
			task.id = createHash("sha256")
				.update(`schedule:${schedule.name}:${iso(slot)}`)
				.digest("hex")
				.slice(0, 32);
		}
		return task;
	}
}

/**
 * A stored schedule as getSchedules() shows it.
 * @param stored The stored schedule.
 * @returns The schedule.
 */
function toSchedule(stored: IStoredSchedule): ISchedule {
	const schedule: ISchedule = { name: stored.name, type: stored.type, catchUp: stored.catchUp };
	for (const key of ["payload", "every", "cron", "timezone", "options"] as const) {
		if (!Is.undefined(stored[key])) {
			(schedule as unknown as { [key: string]: unknown })[key] = stored[key];
		}
	}
	if (!Is.undefined(stored.nextSlot)) {
		schedule.nextSlot = iso(stored.nextSlot);
	}
	if (!Is.undefined(stored.lastSlot)) {
		schedule.lastSlot = iso(stored.lastSlot);
	}
	return schedule;
}
