// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomUUID } from "node:crypto";
import type { TaskLog } from "../../utils/taskLog.js";
import type { ISessionHolds } from "./ISessionHolds.js";
import type { PostgresPools } from "./postgresPools.js";
import type { PostgresStatements } from "./postgresStatements.js";
import { readNotice } from "./sql/notify.js";
import type { StatementRunner } from "./statementRunner.js";
import type { ScheduleTable } from "./scheduleTable.js";
import type { AbortRequests } from "./abortRequests.js";
import type { TypePauses } from "./typePauses.js";

/**
 * One session of the native backend, from open() to close(): the lease owner id, the
 * connections, the heartbeat timer, and the wake-ups in both directions (LISTEN: another
 * instance created or retried a task, so wake the scheduler, or paused or resumed a type, so tell
 * it, or asked this node to stop a task it runs; NOTIFY: a serial type's settle here lets the
 * other instances claim its next task).
 */
export class PostgresSession {
	/**
	 * This session's lease owner id, empty while closed.
	 * @internal
	 */
	private _owner = "";

	/**
	 * An open in progress.
	 * @internal
	 */
	private _opening?: Promise<void>;

	/**
	 * The heartbeat timer.
	 * @internal
	 */
	private _heartbeat?: NodeJS.Timeout;

	/**
	 * A heartbeat in flight.
	 * @internal
	 */
	private _beating?: Promise<void>;

	/**
	 * The wake-up callback of this session.
	 * @internal
	 */
	private _wake: (type: string) => void = () => {};

	/**
	 * The types fetched this session: woken when the LISTEN comes back after a drop.
	 * @internal
	 */
	private readonly _types = new Set<string>();

	/**
	 * The types fetched as serial: their settles notify the other instances.
	 * @internal
	 */
	private readonly _serialTypes = new Set<string>();

	/**
	 * Create a new PostgresSession.
	 * @param _pools The connections.
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _heartbeatInterval The heartbeat period, ms.
	 * @param _log The log.
	 * @param _holds The work on the held tasks.
	 * @param _pauses The paused types, read at open and when notices may have been lost.
	 * @param _schedules The schedules, told of their notices.
	 * @param _aborts The aborts asked of held tasks, told by notices.
	 */
	constructor(
		private readonly _pools: PostgresPools,
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _heartbeatInterval: number,
		private readonly _log: TaskLog | undefined,
		private readonly _holds: ISessionHolds,
		private readonly _pauses: TypePauses,
		private readonly _schedules: ScheduleTable,
		private readonly _aborts: AbortRequests
	) {}

	/**
	 * The lease owner id of the current session (a new one per open).
	 * @returns The id, empty while closed.
	 */
	public get owner(): string {
		return this._owner;
	}

	/**
	 * Connect, create or upgrade the table, LISTEN for wake-ups, read the paused types and start the
	 * heartbeat.
	 * @param wake Called with a task type when another instance created or retried a task of it.
	 * @param paused Called when a type was paused or resumed (a notice, or a read of the table).
	 * @param aborted Called when a task this session holds was asked to stop (abort(id)).
	 */
	public async open(
		wake: (type: string) => void,
		paused?: (type: string, paused: boolean) => void,
		aborted?: (id: string, reason: string) => void
	): Promise<void> {
		this._wake = wake;
		this._pauses.listen(paused ?? ((): void => {}));
		this._aborts.listen(aborted ?? ((): void => {}));
		if (this._pools.session) {
			return;
		}
		this._opening ??= this.connect().finally(() => {
			this._opening = undefined;
		});
		await this._opening;
	}

	/**
	 * Stop the heartbeat, let the held tasks be given back (ISessionHolds.close), UNLISTEN and
	 * close the connections; the pool used while closed too.
	 */
	public async close(): Promise<void> {
		await this._opening?.catch(() => undefined);
		await this._pools.closeIdle();
		if (!this._pools.session) {
			return;
		}
		clearInterval(this._heartbeat);
		this._heartbeat = undefined;
		await this._beating;
		await this._holds.close();
		this._owner = "";
		await this._pools.closeSession();
	}

	/**
	 * A type was fetched: woken after the LISTEN comes back, and notified on its settles when
	 * serial.
	 * @param type The task type.
	 * @param serial One task at a time across all nodes.
	 */
	public fetched(type: string, serial: boolean | undefined): void {
		this._types.add(type);
		if (serial) {
			this._serialTypes.add(type);
		}
	}

	/**
	 * A task of the type was settled: when the type is serial, its next task may be claimed now,
	 * on any node, so tell the other instances.
	 * @param type The task type.
	 */
	public settled(type: string): void {
		if (this._serialTypes.has(type)) {
			this.notify(type);
		}
	}

	/**
	 * Connect, make the table ready, LISTEN and start the heartbeat.
	 * @internal
	 */
	private async connect(): Promise<void> {
		this._owner = randomUUID();
		try {
			await this._pools.openSession(payload => this.notified(payload));
		} catch (err) {
			this._owner = "";
			throw err;
		}
		this._types.clear();
		// After the LISTEN, so a change committed after this read is announced to this session.
		await this._pauses.refresh();
		this._heartbeat = setInterval(() => {
			this._beating ??= this.beat().finally(() => {
				this._beating = undefined;
			});
		}, this._heartbeatInterval);
		this._heartbeat.unref();
	}

	/**
	 * One heartbeat: LISTEN again if the connection dropped (and wake every type fetched and read
	 * the paused types again, as notifications may have been missed), then the work on the held
	 * tasks.
	 * @internal
	 */
	private async beat(): Promise<void> {
		if (!this._runner.isOpen) {
			return;
		}
		try {
			if (await this._pools.ensureListening()) {
				this._pauses.lost();
				for (const type of this._types) {
					this.wakeFor(type);
				}
			}
		} catch (err) {
			this._log?.log("warn", "listenFailed", { channel: this._statements.channel }, err);
		}
		if (this._pauses.stale) {
			await this._pauses.refresh();
		}
		await this._holds.beat();
	}

	/**
	 * A notification arrived (sql/notify.ts): wake the scheduler for its type unless this instance
	 * sent it (its own creates and retries reach its scheduler directly), tell the schedules or the
	 * aborts of their notices, or tell it of a pause or resume, its own included: notices come in commit order, so the last one read is the stored
	 * state even when this instance's own change and another's crossed.
	 * @param payload The payload.
	 * @internal
	 */
	private notified(payload: string): void {
		const { sender, kind, type } = readNotice(payload);
		if (kind === "schedule") {
			this._schedules.noticed();
		} else if (kind === "abort") {
			this._aborts.noticed(type);
		} else if (kind !== "due") {
			this._pauses.noticed(type, kind === "pause");
		} else if (sender !== this._owner) {
			this.wakeFor(type);
		}
	}

	/**
	 * Tell every other instance that tasks of a type may be claimable now; a failure only costs
	 * them a poll.
	 * @param type The task type.
	 * @internal
	 */
	private notify(type: string): void {
		if (!this._runner.isOpen) {
			return;
		}
		this._runner
			.run(this._statements.notify, [this._statements.channel, type, this._owner], {
				idempotent: true,
				repeat: false,
				on: "session"
			})
			.catch((err: unknown) => this._log?.log("warn", "wakeFailed", { type }, err));
	}

	/**
	 * Wake the scheduler for a type.
	 * @param type The task type.
	 * @internal
	 */
	private wakeFor(type: string): void {
		try {
			this._wake(type);
		} catch (err) {
			this._log?.log("warn", "wakeFailed", { type }, err);
		}
	}
}
