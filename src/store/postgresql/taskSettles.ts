// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { isFinal } from "../../domain/rules.js";
import type { TaskLog } from "../../utils/taskLog.js";
import type { ISettleDone } from "../../contracts/ITaskSource.js";
import type { HeldTasks } from "./heldTasks.js";
import type { ISettleEntry } from "./ISettleEntry.js";
import { arrayLiteral } from "./postgresConnection.js";
import type { PostgresSession } from "./postgresSession.js";
import type { PostgresStatements } from "./postgresStatements.js";
import { jsonParameter } from "./rowMapping.js";
import { SettleBatch } from "./settleBatch.js";
import { TaskSettle, type ISettleParts } from "./taskSettle.js";
import { settleParams, SettleShapes, sharedFields } from "./settleShapes.js";
import type { StatementRunner } from "./statementRunner.js";
import type { TableUpkeep } from "./tableUpkeep.js";

/**
 * The settles of one instance: each outcome is one write (or removal) fenced by lease owner,
 * status processing and the claim's dateModified, so a node that lost a lease writes nothing
 * over the new owner's work; the settles of one event-loop turn go out as one statement
 * (SettleBatch).
 */
export class TaskSettles {
	/**
	 * The settles waiting to be written.
	 * @internal
	 */
	private readonly _batch: SettleBatch;

	/**
	 * What each settle in flight uses of this.
	 * @internal
	 */
	private readonly _parts: ISettleParts;

	/**
	 * The settle statements by shape.
	 * @internal
	 */
	private readonly _shapes: SettleShapes;

	/**
	 * Create a new TaskSettles.
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _session The session (its lease owner id, the serial types' notifications).
	 * @param _held The tasks held here.
	 * @param _read Reads a task as it is stored.
	 * @param _log The log.
	 * @param _upkeep Told how many tasks each batch settled.
	 */
	constructor(
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _session: PostgresSession,
		private readonly _held: HeldTasks,
		private readonly _read: (id: string) => Promise<BackgroundTask | undefined>,
		private readonly _log: TaskLog | undefined,
		private readonly _upkeep?: TableUpkeep
	) {
		this._batch = new SettleBatch(async entries => this.write(entries));
		this._parts = {
			batch: this._batch,
			held: _held,
			session: _session,
			log: _log,
			alreadySettled: async (task, remove) => this.alreadySettled(task, remove)
		};
		this._shapes = new SettleShapes((updates, removals, shared) =>
			this._statements.settle(updates, removals, shared)
		);
	}

	/**
	 * Record the outcome of a claimed task: one fenced write (or removal) in the current batch.
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param claimedAt The claim's dateModified when this repeats a failed write.
	 * @returns False when the task was removed or the lease lost to another instance.
	 */
	public settle(task: BackgroundTask, remove: boolean, claimedAt?: string): Promise<boolean> {
		return new Promise<boolean>((resolve, reject) => {
			this.begin(task, remove, claimedAt, { settled: resolve, failed: reject });
		});
	}

	/**
	 * settle() of a first write, its outcome told to `done` (ITaskSource.settleThen).
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param done Told the outcome, never during this call.
	 */
	public settleThen(task: BackgroundTask, remove: boolean, done: ISettleDone): void {
		this.begin(task, remove, undefined, done);
	}

	/**
	 * The body of settle() and settleThen(): the held record's check, then a TaskSettle that
	 * writes and tells `done`. An outcome known at once is told from a microtask, as a promise's
	 * would be.
	 * @param task The settled task.
	 * @param remove True to remove it.
	 * @param claimedAt The claim's dateModified when this repeats a failed write.
	 * @param done Told the outcome.
	 * @internal
	 */
	private begin(
		task: BackgroundTask,
		remove: boolean,
		claimedAt: string | undefined,
		done: ISettleDone
	): void {
		try {
			this._runner.assertOpen();
			const current = this._held.get(task.id);
			// A waiting record is not this run's: a fetch took the task again, as its next run, while
			// a settle to pending was written (HeldTasks.runsHere), and this is that settle's repeat.
			const held = current?.phase === "waiting" ? undefined : current;
			if (held?.phase === "removed") {
				this._held.delete(task.id);
				queueMicrotask(() => done.settled(false));
				return;
			}
			const fence = claimedAt ?? held?.claimedAt;
			if (fence === undefined) {
				this._log?.log("warn", "settleNotHeld", { id: task.id, type: task.type });
				queueMicrotask(() => done.settled(false));
				return;
			}
			const owner = held?.owner ?? this._session.owner;
			if (held) {
				this._held.beginSettle(held, remove || isFinal(task.status));
			}
			new TaskSettle(
				this._parts,
				task,
				remove,
				held,
				fence,
				owner,
				claimedAt !== undefined,
				done
			).start();
		} catch (err) {
			queueMicrotask(() => done.failed(err));
		}
	}

	/**
	 * Write a running task's progress: one statement fenced by the run's lease owner and claim,
	 * sent only while the task is held here running (not settling, lost or removed). Not repeated
	 * on a lost connection: the next report, or the settle, writes a newer value anyway.
	 * @param id The task id.
	 * @param progress The progress, a JSON value.
	 * @returns False when nothing was written because the run no longer holds the claim.
	 */
	public async writeProgress(id: string, progress: unknown): Promise<boolean> {
		const held = this._held.get(id);
		if (held?.phase !== "running") {
			return false;
		}
		const rows = await this._runner.run<{ id: string }[]>(
			this._statements.progress,
			[id, jsonParameter(progress), held.owner, held.claimedAt],
			{ idempotent: true, repeat: false, on: "session", deadline: "progress" }
		);
		return rows.length > 0;
	}

	/**
	 * Forget a running claim: the heartbeat stops renewing it, so its lease expires and another
	 * instance (or this one) recovers it; the row stays processing meanwhile.
	 * @param id The task id.
	 */
	public release(id: string): void {
		this._held.delete(id);
	}

	/**
	 * Wait until every queued settle has been written (or failed).
	 */
	public async drain(): Promise<void> {
		await this._batch.drain();
	}

	/**
	 * Write a batch of settles: one statement of arrays (one value for a field the whole batch
	 * shares), fenced per task; a batch of removals of this instance's claims (the common case,
	 * retainFor 0) as two arrays and the owner only.
	 * @param entries The settles.
	 * @returns The ids the fence kept out: neither written nor removed.
	 * @internal
	 */
	private async write(entries: ISettleEntry[]): Promise<Set<string>> {
		const owner = this._session.owner;
		// On the claims' connection too: one server process runs both (docs/performance.md, "Claims and
		// settles on one connection").
		const options = { idempotent: false, on: "scheduler", deadline: "settle" } as const;
		let rows;
		if (entries.every(e => e.remove && e.owner === owner)) {
			rows = await this._runner.run<{ id: string }[]>(
				this._statements.settleRemovals,
				[arrayLiteral(entries.map(e => e.id)), arrayLiteral(entries.map(e => e.claimedAt)), owner],
				options
			);
		} else {
			const { text, shared } = this._shapes.statement(
				entries.some(e => !e.remove),
				entries.some(e => e.remove),
				sharedFields(entries)
			);
			rows = await this._runner.run<{ id: string }[]>(text, settleParams(entries, shared), options);
		}
		this._upkeep?.settled(entries.length - rows.length);
		return new Set(rows.map(r => r.id));
	}

	/**
	 * Does storage already hold this settle's outcome: the row gone for a removal, or written with
	 * the settle's status and dateModified.
	 * @param task The settled task.
	 * @param remove Whether the settle removes the task.
	 * @returns True when the outcome is there.
	 * @internal
	 */
	private async alreadySettled(task: BackgroundTask, remove: boolean): Promise<boolean> {
		const current = await this._read(task.id);
		return remove
			? current === undefined
			: current?.status === task.status && current.dateModified === task.dateModified;
	}
}
