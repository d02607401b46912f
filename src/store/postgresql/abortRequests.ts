// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskLog } from "../../utils/taskLog.js";
import type { HeldTasks } from "./heldTasks.js";
import type { PostgresStatements } from "./postgresStatements.js";
import type { StatementRunner } from "./statementRunner.js";

/**
 * abort(id) of a task running on some node: the request is stored on the processing row
 * (abortReason) with a notice in the same statement; the node holding the task hears the notice
 * and reads the reason, or finds it on the row at its next heartbeat when the notice was lost,
 * and tells its scheduler, which fires the handler's signal. Every other node ignores the notice.
 */
export class AbortRequests {
	/**
	 * Told of an abort asked of a task this session holds.
	 * @internal
	 */
	private _listener: (id: string, reason: string) => void = () => {};

	/**
	 * Create the requests.
	 * @param runner Runs the statements.
	 * @param statements The statements.
	 * @param held The tasks this instance holds.
	 * @param owner This session's lease owner id.
	 * @param log The log.
	 */
	constructor(
		private readonly runner: StatementRunner,
		private readonly statements: PostgresStatements,
		private readonly held: HeldTasks,
		private readonly owner: () => string,
		private readonly log: TaskLog | undefined
	) {}

	/**
	 * Set where the aborts asked of this session's tasks go (the scheduler's, at open).
	 * @param listener The listener.
	 */
	public listen(listener: (id: string, reason: string) => void): void {
		this._listener = listener;
	}

	/**
	 * Ask the owner of a processing task to stop it.
	 * @param id The task id.
	 * @param reason The reason.
	 * @returns True when the task was processing (the request is stored and announced).
	 */
	public async request(id: string, reason: string): Promise<boolean> {
		const rows = await this.runner.run<unknown[]>(
			this.statements.requestAbort,
			[id, reason, this.statements.channel, this.owner() || "-"],
			{ idempotent: true }
		);
		return rows.length > 0;
	}

	/**
	 * A notice said a task was asked to stop: when this session holds it, read the reason and tell
	 * the scheduler. A failed read is left to the next heartbeat.
	 * @param id The task id.
	 */
	public noticed(id: string): void {
		const owner = this.owner();
		if (owner === "" || this.held.get(id)?.owner !== owner) {
			return;
		}
		this.runner
			.run<{ abortReason: string }[]>(this.statements.abortReason, [id, owner], {
				idempotent: true,
				repeat: false,
				on: "session"
			})
			.then(rows => {
				if (rows.length > 0) {
					this.found(id, rows[0].abortReason);
				}
			})
			.catch((err: unknown) => this.log?.log("warn", "abortReadFailed", { id }, err));
	}

	/**
	 * A held task carries an abort request (a notice's read, or a heartbeat's row).
	 * @param id The task id.
	 * @param reason The reason.
	 */
	public found(id: string, reason: string): void {
		this.log?.log("info", "abortReceived", { id });
		try {
			this._listener(id, reason);
		} catch (err) {
			this.log?.log("warn", "abortReadFailed", { id }, err);
		}
	}
}
