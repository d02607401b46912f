// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { performance } from "node:perf_hooks";
import type postgres from "postgres";
import type { TaskLog } from "../../utils/taskLog.js";
import type { HeldTasks } from "./heldTasks.js";
import type { IHeldTask } from "./IHeldTask.js";
import { textArray } from "./postgresConnection.js";
import type { PostgresStatements } from "./postgresStatements.js";

/**
 * Options for statements run often: prepared once per connection.
 */
const PREPARED = { prepare: true } as const;

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
	 * @param statements The statements.
	 * @param leaseTimeout The lease length, ms.
	 * @param log The log.
	 */
	constructor(
		private readonly held: HeldTasks,
		private readonly statements: PostgresStatements,
		private readonly leaseTimeout: number,
		private readonly log: TaskLog | undefined
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
	 * is marked lost and logged once; one still waiting to start is dropped.
	 * @param sql The pool.
	 * @param owner The lease owner.
	 * @param bound Bounds the wait for the statement (a renewal that never answers would hold up
	 * every later heartbeat, and with them the LISTEN's reconnection).
	 */
	public async renew(
		sql: postgres.Sql,
		owner: string,
		bound: <T>(query: Promise<T>, what: string) => Promise<T>
	): Promise<void> {
		const ids = this.held.renewable(owner);
		if (ids.length === 0) {
			return;
		}
		const leaseAt = performance.now();
		let renewed: Set<string>;
		try {
			const rows = await bound(
				sql.unsafe<{ id: string }[]>(
					this.statements.heartbeat,
					[textArray(ids), owner, this.leaseTimeout],
					PREPARED
				),
				"heartbeat"
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
				held.leaseAt = leaseAt;
			} else if (!held.settling && !held.removed && !held.lost) {
				// A settle in flight has cleared the lease itself; a removal here is no loss.
				held.lost = true;
				this.log?.log("warn", "leaseLost", { id, type: held.type });
				if (held.row !== undefined) {
					this.held.delete(id, held);
				}
			}
		}
	}

	/**
	 * Renew the lease of one waiting task whose last renewal is old.
	 * @param sql The pool.
	 * @param id The task id.
	 * @param held The record.
	 * @returns True when the lease was still this instance's and is renewed; false (logged) when
	 * it is gone.
	 */
	public async reconfirm(sql: postgres.Sql, id: string, held: IHeldTask): Promise<boolean> {
		const leaseAt = performance.now();
		const rows = await sql.unsafe(
			this.statements.reconfirm,
			[id, held.owner, held.claimedAt, this.leaseTimeout],
			PREPARED
		);
		if (rows.length > 0) {
			held.leaseAt = leaseAt;
			return true;
		}
		held.lost = true;
		this.log?.log("warn", "leaseLost", { id, type: held.type });
		return false;
	}
}
