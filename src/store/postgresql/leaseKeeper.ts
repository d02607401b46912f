// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { performance } from "node:perf_hooks";
import type { TaskLog } from "../../utils/taskLog.js";
import type { AbortRequests } from "./abortRequests.js";
import type { HeldTasks } from "./heldTasks.js";
import type { IHeldTask } from "./IHeldTask.js";
import { arrayLiteral } from "./postgresConnection.js";
import type { PostgresStatements } from "./postgresStatements.js";
import type { StatementRunner } from "./statementRunner.js";

/**
 * Keeps the leases of the held tasks: renews them all in one statement per heartbeat, notices
 * the ones that are gone (expired and taken by another node, or removed), logging each once, and
 * confirms in SQL the lease of a waiting task before it is handed out when the last renewal is
 * old enough that the lease may have run out unnoticed.
 */
export class LeaseKeeper {
	/**
	 * Create a new LeaseKeeper.
	 * @param held The held tasks.
	 * @param runner Runs the statements.
	 * @param statements The statements.
	 * @param leaseTimeout The lease length, ms.
	 * @param log The log.
	 * @param aborts Told of the abort requests the renewed rows carry.
	 */
	constructor(
		private readonly held: HeldTasks,
		private readonly runner: StatementRunner,
		private readonly statements: PostgresStatements,
		private readonly leaseTimeout: number,
		private readonly log: TaskLog | undefined,
		private readonly aborts?: AbortRequests
	) {}

	/**
	 * Is the lease of a held task certainly still in force by this process's clock: renewed less
	 * than half a lease ago.
	 * @param held The record.
	 * @returns True when it can be handed out without asking the database.
	 */
	public isFresh(held: IHeldTask): boolean {
		return performance.now() - held.leaseAt < this.leaseTimeout / 2;
	}

	/**
	 * Renew the leases of every task the owner holds, in one statement. A task whose lease is gone
	 * is marked lost and logged once; one still waiting to start is dropped (HeldTasks.leaseGone).
	 * @param owner The lease owner.
	 */
	public async renew(owner: string): Promise<void> {
		const ids = this.held.renewable(owner);
		if (ids.length === 0) {
			return;
		}
		const leaseAt = performance.now();
		let renewed: Set<string>;
		let rows: { id: string; abortReason: string | null }[];
		try {
			// Bounded: a renewal that never answered would hold up every later heartbeat, and with
			// them the LISTEN's reconnection and close(). Not repeated: the next heartbeat renews.
			rows = await this.runner.run<{ id: string; abortReason: string | null }[]>(
				this.statements.heartbeat,
				[arrayLiteral(ids), owner, this.leaseTimeout],
				{ idempotent: true, repeat: false, on: "session", deadline: "heartbeat" }
			);
			renewed = new Set(rows.map(r => r.id));
		} catch (err) {
			this.log?.log("warn", "heartbeatFailed", { count: ids.length }, err);
			return;
		}
		for (const id of ids) {
			const held = this.held.get(id);
			if (!held || held.owner !== owner) {
				continue;
			}
			if (renewed.has(id)) {
				this.held.renewed(held, leaseAt);
			} else if (this.held.leaseGone(id, held)) {
				this.log?.log("warn", "leaseLost", { id, type: held.type });
			}
		}
		// An abort(id) whose notice this node missed (or that came before the task started here).
		for (const row of rows) {
			if (row.abortReason !== null) {
				this.aborts?.found(row.id, row.abortReason);
			}
		}
	}

	/**
	 * Renew the lease of one waiting task whose last renewal is old; when it is gone, the task is
	 * dropped.
	 * @param id The task id.
	 * @param held The record.
	 * @returns True when the lease was still this instance's and is renewed; false (logged) when
	 * it is gone.
	 */
	public async reconfirm(id: string, held: IHeldTask): Promise<boolean> {
		const leaseAt = performance.now();
		const rows = await this.runner.run(
			this.statements.reconfirm,
			[id, held.owner, held.claimedAt, this.leaseTimeout],
			{ idempotent: true, repeat: false, on: "session" }
		);
		if (rows.length > 0) {
			this.held.renewed(held, leaseAt);
			return true;
		}
		this.held.leaseGone(id, held);
		this.log?.log("warn", "leaseLost", { id, type: held.type });
		return false;
	}
}
