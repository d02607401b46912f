// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskLog } from "../../utils/taskLog.js";
import type { PostgresStatements } from "./postgresStatements.js";
import type { StatementRunner } from "./statementRunner.js";

/**
 * How many times a read of the paused types is taken again because a notice came while it was in
 * flight (its snapshot may predate that change).
 */
const MAX_READS = 5;

/**
 * The paused types of the native backend: stored in the paused table, which every node's claims
 * read (a node that missed a notice still claims nothing of a paused type), and announced on the
 * table's channel so every node's scheduler stops starting the type's fetched tasks within
 * milliseconds. This part keeps the scheduler's view of the stored set: it tells the scheduler of
 * the changes the notices announce, and of the difference a read of the table finds (at open,
 * and when the LISTEN came back after notices may have been lost). This instance's own pause()
 * and resume() reach its scheduler through the facade at once, and through their notices again.
 */
export class TypePauses {
	/**
	 * The paused types as the scheduler knows them.
	 * @internal
	 */
	private readonly _told = new Set<string>();

	/**
	 * Changes learned so far: a read during which one came is taken again.
	 * @internal
	 */
	private _changes = 0;

	/**
	 * Whether the scheduler's view must be read again from the table (at first, after a LISTEN
	 * came back, after a read failed).
	 * @internal
	 */
	private _stale = true;

	/**
	 * Told of each change the notices or a read of the table bring.
	 * @internal
	 */
	private _listener: (type: string, paused: boolean) => void = () => {};

	/**
	 * Create a new TypePauses.
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
	 * Whether the scheduler's view must be read again from the table.
	 * @returns True until a read succeeds after it was lost.
	 */
	public get stale(): boolean {
		return this._stale;
	}

	/**
	 * Tell this listener of the changes from now on (the scheduler of the session being opened).
	 * @param listener Called with a type and whether it is now paused.
	 */
	public listen(listener: (type: string, paused: boolean) => void): void {
		this._listener = listener;
	}

	/**
	 * Pause a type for every node, and notify them when it was not paused yet.
	 * @param type The task type.
	 */
	public async pause(type: string): Promise<void> {
		await this.change(this._statements.pauses.pause, type);
		this._told.add(type);
	}

	/**
	 * Resume a type for every node, and notify them when it was paused.
	 * @param type The task type.
	 */
	public async resume(type: string): Promise<void> {
		await this.change(this._statements.pauses.resume, type);
		this._told.delete(type);
	}

	/**
	 * The stored paused types.
	 * @returns The types, sorted.
	 */
	public async list(): Promise<string[]> {
		const rows = await this._runner.run<{ type: string }[]>(this._statements.pauses.list, [], {
			idempotent: true
		});
		return rows.map(r => r.type);
	}

	/**
	 * A node (this one included) paused or resumed a type: its notice, in commit order.
	 * @param type The task type.
	 * @param paused Whether it is now paused.
	 */
	public noticed(type: string, paused: boolean): void {
		this._changes++;
		this.tell(type, paused);
	}

	/**
	 * The LISTEN came back after a drop: notices may have been lost, so read the table again.
	 */
	public lost(): void {
		this._stale = true;
	}

	/**
	 * Read the stored paused types and tell the scheduler what differs from its view; read again
	 * when a notice came meanwhile. A failure is logged and leaves the view stale, to be read at
	 * the next heartbeat.
	 */
	public async refresh(): Promise<void> {
		try {
			let stored: Set<string>;
			let reads = 0;
			let seen: number;
			do {
				seen = this._changes;
				stored = new Set(await this.list());
			} while (seen !== this._changes && ++reads < MAX_READS);
			this._stale = false;
			for (const type of [...this._told]) {
				if (!stored.has(type)) {
					this.tell(type, false);
				}
			}
			for (const type of stored) {
				this.tell(type, true);
			}
		} catch (err) {
			this._stale = true;
			this._log?.log("warn", "pausesReadFailed", {}, err);
		}
	}

	/**
	 * Run a pause or resume statement, repeated after a lost connection (both are idempotent).
	 * @param statement The statement.
	 * @param type The task type.
	 * @internal
	 */
	private async change(statement: string, type: string): Promise<void> {
		await this._runner.run(statement, [type, this._statements.channel, this._owner()], {
			idempotent: true
		});
		// A read of the table in flight may predate this change.
		this._changes++;
	}

	/**
	 * Tell the scheduler a type's state when it differs from its view.
	 * @param type The task type.
	 * @param paused Whether it is paused.
	 * @internal
	 */
	private tell(type: string, paused: boolean): void {
		if (this._told.has(type) === paused) {
			return;
		}
		if (paused) {
			this._told.add(type);
		} else {
			this._told.delete(type);
		}
		try {
			this._listener(type, paused);
		} catch (err) {
			this._log?.log(
				"warn",
				"pauseNoticeFailed",
				{ type, change: paused ? "paused" : "resumed" },
				err
			);
		}
	}
}
