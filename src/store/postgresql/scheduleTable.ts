// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IScheduleStore, IStoredSchedule } from "../../contracts/IScheduleStore.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { CatchUp } from "../../domain/scheduleSlots.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { PostgresStatements } from "./postgresStatements.js";
import { taskRecord } from "./rowMapping.js";
import type { StatementRunner } from "./statementRunner.js";

/**
 * A row of the schedules table (postgres.js returns TIMESTAMPTZ as Date and JSONB parsed).
 */
interface IScheduleRow {
	name: string | null;
	type: string;
	payload: unknown;
	spec: { every?: number; cron?: string; timezone?: string };
	options: { [key: string]: unknown } | null;
	catchUp: CatchUp;
	nextSlot: Date | null;
	lastSlot: Date | null;
	dbNow?: Date;
}

/**
 * The schedules of the native backend, in the `<tableName>_schedules` table every node reads.
 * Each change is one statement that also notifies every node; firing a slot is one statement that
 * moves the stored next slot by compare-and-set on the database's clock and inserts the slot's
 * tasks only when the move matched (sql/schedules.ts), so each slot fires once across nodes.
 */
export class ScheduleTable implements IScheduleStore {
	/**
	 * Shared by every node on the table.
	 */
	public readonly shared = true;

	/**
	 * Told when a node changed a schedule.
	 * @internal
	 */
	private _listener: () => void = () => {};

	/**
	 * Create a new ScheduleTable.
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _owner The session's lease owner id, the sender of notices.
	 * @param _log The log.
	 */
	constructor(
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _owner: () => string,
		private readonly _log: TaskLog | undefined
	) {}

	/**
	 * Tell this listener when a schedule changed (the notices of every node).
	 * @param changed Called after a change.
	 */
	public listen(changed: () => void): void {
		this._listener = changed;
	}

	/**
	 * A node changed a schedule (its notice).
	 */
	public noticed(): void {
		try {
			this._listener();
		} catch (err) {
			this._log?.log("warn", "scheduleNoticeFailed", {}, err);
		}
	}

	/**
	 * Insert or update a schedule (idempotent: repeated after a lost connection).
	 * @param schedule The schedule.
	 * @returns The schedule as stored.
	 */
	public async save(schedule: IStoredSchedule): Promise<IStoredSchedule> {
		const spec =
			schedule.every === undefined
				? { cron: schedule.cron, timezone: schedule.timezone }
				: { every: schedule.every };
		const rows = await this._runner.run<IScheduleRow[]>(
			this._statements.schedules.save,
			[
				schedule.name,
				schedule.type,
				jsonOrNull(schedule.payload),
				JSON.stringify(spec),
				jsonOrNull(schedule.options),
				schedule.catchUp,
				isoOrNull(schedule.nextSlot),
				this._statements.channel,
				this._owner()
			],
			{ idempotent: true }
		);
		return fromRow(rows[0]);
	}

	/**
	 * Remove a schedule.
	 * @param name The name.
	 * @returns True when it existed.
	 */
	public async remove(name: string): Promise<boolean> {
		const rows = await this._runner.run(
			this._statements.schedules.remove,
			[name, this._statements.channel, this._owner()],
			{ idempotent: true }
		);
		return rows.length > 0;
	}

	/**
	 * Every schedule and the database's time.
	 * @returns The schedules and now.
	 */
	public async list(): Promise<{ schedules: IStoredSchedule[]; now: number }> {
		const rows = await this._runner.run<IScheduleRow[]>(this._statements.schedules.list, [], {
			idempotent: true
		});
		return {
			schedules: rows.filter(r => r.name !== null).map(fromRow),
			now: rows[0]?.dbNow?.getTime() ?? Date.now()
		};
	}

	/**
	 * Fire due slots in one statement (sql/schedules.ts fireScheduleSql). Repeated after a lost
	 * connection: a repeat of a move that committed matches nothing and inserts nothing.
	 * @param name The name.
	 * @param expected The next slot read.
	 * @param next The next slot to store.
	 * @param last The last slot fired.
	 * @param tasks The slots' tasks.
	 * @returns True when this call moved the slot.
	 */
	public async fire(
		name: string,
		expected: number,
		next: number | undefined,
		last: number,
		tasks: BackgroundTask[]
	): Promise<boolean> {
		const rows = await this._runner.run<{ fired: number }[]>(
			this._statements.schedules.fire,
			[
				name,
				new Date(expected).toISOString(),
				isoOrNull(next),
				new Date(last).toISOString(),
				JSON.stringify(tasks.map(taskRecord)),
				this._statements.channel,
				this._owner()
			],
			{ idempotent: true }
		);
		return rows[0]?.fired === 1;
	}
}

/**
 * A value as JSON text for a JSONB parameter, or null.
 * @param value The value.
 * @returns The text or null.
 */
function jsonOrNull(value: unknown): string | null {
	return value === undefined ? null : JSON.stringify(value);
}

/**
 * An epoch ms as ISO text, or null.
 * @param ms The time.
 * @returns The text or null.
 */
function isoOrNull(ms: number | undefined): string | null {
	return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * A stored schedule from its row.
 * @param row The row.
 * @returns The schedule.
 */
function fromRow(row: IScheduleRow): IStoredSchedule {
	const schedule: IStoredSchedule = {
		name: row.name ?? "",
		type: row.type,
		catchUp: row.catchUp,
		nextSlot: row.nextSlot?.getTime()
	};
	if (row.payload !== null && row.payload !== undefined) {
		schedule.payload = row.payload;
	}
	if (row.spec.every !== undefined) {
		schedule.every = row.spec.every;
	} else {
		schedule.cron = row.spec.cron;
		if (row.spec.timezone !== undefined && row.spec.timezone !== null) {
			schedule.timezone = row.spec.timezone;
		}
	}
	if (row.options !== null) {
		schedule.options = row.options;
	}
	if (row.lastSlot !== null) {
		schedule.lastSlot = row.lastSlot.getTime();
	}
	return schedule;
}
