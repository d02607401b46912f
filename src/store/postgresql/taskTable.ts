// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import type { ITaskPage, ITaskQuery } from "../../contracts/ITaskQuery.js";
import type { QueuedTask } from "../../contracts/ITaskSource.js";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import { cancelled } from "../../domain/rules.js";
import type { HeldTasks } from "./heldTasks.js";
import { UNIQUE_VIOLATION } from "./postgresNames.js";
import type { PostgresSession } from "./postgresSession.js";
import type { PostgresStatements } from "./postgresStatements.js";
import { TASK_COLUMNS, fromRow, jsonParameter, taskRecord, type TaskRow } from "./rowMapping.js";
import type { RunStatement, StatementRunner } from "./statementRunner.js";

/**
 * The default page size of query(), as TWIN's PostgreSQL connector.
 */
const DEFAULT_PAGE_SIZE = 40;

/**
 * The most tasks insertMany sends in one statement (one JSON parameter), so a very large batch
 * never builds one huge string.
 */
const INSERT_MANY_CHUNK = 10_000;

/**
 * How many times retryFailed runs its statement while the dedup index refuses it (a task holding a
 * key committed during each run): a few, since each run sees the tasks committed before it.
 */
const DEDUP_CONFLICT_RUNS = 3;

/**
 * A row of the counts statements (count(*) is a BIGINT: a string).
 */
type CountRow = { type: string; status: string; count: string | number };

/**
 * The plain reads and writes of the task table, each one statement (or one unit of a few):
 * insert, read, query, count, retry, cancel, remove and sweep tasks, and take a start of a
 * rate-limited type. Creates and retries notify every instance in the same statement.
 */
export class TaskTable {
	/**
	 * Create a new TaskTable.
	 * @param _source The class name for errors.
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _session The session (its lease owner id, the sender of notifications).
	 * @param _held The tasks held here (a removal drops them).
	 */
	constructor(
		private readonly _source: string,
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _session: PostgresSession,
		private readonly _held: HeldTasks
	) {}

	/**
	 * Insert a task and notify every instance, in one statement. A task with a dedupKey is not
	 * inserted while a task of its type and key is pending or processing (statements.insertDedup:
	 * the dedup index decides atomically, across nodes); the id of that task is returned instead and
	 * nobody is notified. Written again when the connection is lost (idempotent: its ids are its own).
	 * @param task The task.
	 * @returns The id of the task stored, or of the active task with the same type and key.
	 */
	public async insert(task: BackgroundTask): Promise<string> {
		const values: unknown[] = TASK_COLUMNS.map(column => {
			const value = task[column];
			if (
				column === "payload" ||
				column === "result" ||
				column === "error" ||
				column === "traceContext"
			) {
				return jsonParameter(value);
			}
			return value ?? null;
		});
		values.push(this._statements.channel, this._session.owner);
		return this._runner.unit(
			async run => {
				if (task.dedupKey !== undefined) {
					return this.insertDeduplicated(run, values);
				}
				await run(this._statements.insert, values);
				return task.id;
			},
			{
				idempotent: true,
				deadline: "create",
				ifStored: async () => this.storedAs(task.id, task.id)
			}
		);
	}

	/**
	 * Insert a task with a dedupKey unless a task of its type and key is active (statements.insertDedup).
	 * @param run Runs the statements.
	 * @param params The insert's parameters.
	 * @returns The id of the task stored, or of the active task with the same type and key.
	 * @internal
	 */
	private async insertDeduplicated(run: RunStatement, params: unknown[]): Promise<string> {
		const rows = await run<{ id: string }[]>(this._statements.insertDedup, params);
		if (rows.length > 0) {
			return rows[0].id;
		}
		// The active task it conflicted with committed while the statement ran (not in its
		// snapshot): the upsert returns it, or inserts if it has ended since.
		const upserted = await run<{ id: string }[]>(this._statements.insertDedupUpsert, params);
		return upserted[0].id;
	}

	/**
	 * Whether a task is stored, as the ifStored of a create.
	 * @param id The task id.
	 * @param value What the create returns then.
	 * @returns The value when stored.
	 * @internal
	 */
	private async storedAs<T>(id: string, value: T): Promise<{ value: T } | undefined> {
		return (await this.get(id)) === undefined ? undefined : { value };
	}

	/**
	 * Insert tasks (none with a dedupKey) and notify every instance once per type: one statement
	 * (the batch as one JSON parameter, statements.insertMany) per INSERT_MANY_CHUNK tasks, the
	 * chunks of a larger batch in one transaction, so the batch is stored whole or not at all. JSON
	 * columns are stored exactly as insert() stores them (rowMapping.jsonColumnValue). Written
	 * again when the connection is lost (idempotent: its ids are its own).
	 * @param tasks The tasks.
	 */
	public async insertMany(tasks: BackgroundTask[]): Promise<void> {
		if (tasks.length === 0) {
			return;
		}
		const statement = this._statements.insertMany;
		const chunks: string[] = [];
		for (let i = 0; i < tasks.length; i += INSERT_MANY_CHUNK) {
			chunks.push(JSON.stringify(tasks.slice(i, i + INSERT_MANY_CHUNK).map(taskRecord)));
		}
		const channel = this._statements.channel;
		await this._runner.unit(
			async run => {
				for (const chunk of chunks) {
					await run(statement, [chunk, channel, this._session.owner]);
				}
			},
			{
				idempotent: true,
				transaction: chunks.length > 1,
				deadline: "createMany",
				deadlineScale: chunks.length,
				ifStored: async () => this.storedAs(tasks[0].id, undefined)
			}
		);
	}

	/**
	 * Count tasks per type and status: one grouped query.
	 * @param type Only this type.
	 * @returns The counts; always complete.
	 */
	public async counts(
		type: string | undefined
	): Promise<{ counts: { [type: string]: { [status: string]: number } }; complete: boolean }> {
		const rows =
			type === undefined
				? await this._runner.run<CountRow[]>(this._statements.counts, [], { idempotent: true })
				: await this._runner.run<CountRow[]>(this._statements.countsOfType, [type], {
						idempotent: true
					});
		const counts: { [type: string]: { [status: string]: number } } = {};
		for (const row of rows) {
			counts[row.type] ??= {};
			counts[row.type][row.status] = Number(row.count);
		}
		return { counts, complete: true };
	}

	/**
	 * Take one start of a rate-limited type from the counter every node shares: a fixed window of
	 * per ms on the database's clock, in a table beside the task table (statements.takeStart, one
	 * statement).
	 * @param type The task type.
	 * @param max Starts per window.
	 * @param per The window, ms.
	 * @returns 0 when granted, else the ms until the window ends (at least 1).
	 */
	public async takeStart(type: string, max: number, per: number): Promise<number> {
		const rows = await this._runner.run<{ granted: number | null; waitMs: string | number }[]>(
			this._statements.takeStart,
			[type, max, per],
			{ idempotent: false }
		);
		if (rows[0]?.granted !== null && rows[0]?.granted !== undefined) {
			return 0;
		}
		return Math.max(1, Number(rows[0]?.waitMs ?? per));
	}

	/**
	 * Read a task.
	 * @param id The task id.
	 * @returns The task or undefined.
	 */
	public async get(id: string): Promise<BackgroundTask | undefined> {
		const rows = await this._runner.run<TaskRow[]>(this._statements.get, [id], {
			idempotent: true
		});
		return rows.length > 0 ? fromRow(rows[0]) : undefined;
	}

	/**
	 * Make a pending task due now or give a failed task another attempt (rules.retriedNow), and
	 * notify every instance, in one statement.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The task as written, or undefined when it was neither pending nor failed, or failed
	 * with a dedupKey that an active task of its type holds.
	 */
	public async retry(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		let rows: TaskRow[];
		try {
			rows = await this._runner.run<TaskRow[]>(
				this._statements.retry,
				[id, new Date(nowMs).toISOString(), this._statements.channel, this._session.owner],
				{ idempotent: false }
			);
		} catch (err) {
			if (this.isDedupConflict(err)) {
				// A failed task with a dedupKey while another task of its type and key is active: it
				// stays failed (two active tasks with one key are what the key prevents).
				return undefined;
			}
			throw err;
		}
		return rows.length > 0 ? fromRow(rows[0]) : undefined;
	}

	/**
	 * Put failed tasks back to pending, oldest failure first, and notify every instance, in one
	 * statement (statements.retryFailed); a failed task whose dedupKey an active task holds stays
	 * failed. Not repeated after a lost connection (idempotent: false): had the lost run
	 * committed, a repeat would put back a further batch and report only that one.
	 * @param type Only this type, when set.
	 * @param limit At most this many, when set.
	 * @param nowMs The current time.
	 * @returns The queue columns of the tasks put back.
	 */
	public async retryFailed(
		type: string | undefined,
		limit: number | undefined,
		nowMs: number
	): Promise<QueuedTask[]> {
		const params: unknown[] = [
			new Date(nowMs).toISOString(),
			limit ?? null,
			this._statements.channel,
			this._session.owner
		];
		if (type !== undefined) {
			params.push(type);
		}
		const { all, ofType } = this._statements.retryFailed;
		const statement = type === undefined ? all : ofType;
		for (let attempt = 1; ; attempt++) {
			try {
				const rows = await this._runner.run<TaskRow[]>(statement, params, { idempotent: false });
				return rows.map(row => fromRow(row) as QueuedTask);
			} catch (err) {
				// A task holding a failed task's key committed while the statement ran (its snapshot
				// missed it), and nothing was written: run it again, on a snapshot that sees it.
				if (!this.isDedupConflict(err) || attempt === DEDUP_CONFLICT_RUNS) {
					throw err;
				}
			}
		}
	}

	/**
	 * Whether a statement was refused by the dedup index: a second active task for a type and key.
	 * @param err The statement's error.
	 * @returns True for a unique violation of the dedup index.
	 * @internal
	 */
	private isDedupConflict(err: unknown): boolean {
		return (
			(err as { code?: string }).code === UNIQUE_VIOLATION &&
			(err as { constraint_name?: string }).constraint_name === this._statements.dedupIndex
		);
	}

	/**
	 * Cancel a task while it is pending (rules.cancelled), removing it when its retainFor is 0
	 * (rules.removeOnSettle), in one statement.
	 * @param id The task id.
	 * @param nowMs The current time.
	 * @returns The cancelled task (as cancelled, when removed), or undefined when not pending.
	 */
	public async cancel(id: string, nowMs: number): Promise<BackgroundTask | undefined> {
		const rows = await this._runner.run<TaskRow[]>(
			this._statements.cancel,
			[id, new Date(nowMs).toISOString(), nowMs],
			{ idempotent: false }
		);
		if (rows.length === 0) {
			return undefined;
		}
		const task = fromRow(rows[0]);
		return rows[0].removed === true ? cancelled(task, nowMs) : task;
	}

	/**
	 * Remove a task whatever its status; one held here is dropped, and a running one is not written
	 * back when it finishes.
	 * @param id The task id.
	 */
	public async remove(id: string): Promise<void> {
		await this._runner.run(this._statements.remove, [id], { idempotent: true });
		this._held.markRemoved(id);
	}

	/**
	 * A page of tasks: both filters in SQL, sorted by the property then id, paged by offset (the
	 * cursor), as TWIN's connector pages; no cursor on the last page.
	 * @param query The filters, the order and the page.
	 * @returns The page and the next cursor.
	 */
	public async query(query: ITaskQuery): Promise<ITaskPage> {
		const { type, status, sortProperty, sortDirection, cursor, pageSize } = query;
		const column = TASK_COLUMNS.find(c => c === sortProperty);
		if (!column) {
			throw new GeneralError(this._source, "sortPropertyUnknown", {
				property: String(sortProperty)
			});
		}
		const size = pageSize ?? DEFAULT_PAGE_SIZE;
		const offset = /^\d+$/.test(cursor ?? "") ? Number(cursor) : 0;
		const params: unknown[] = [];
		if (type !== undefined) {
			params.push(type);
		}
		if (status !== undefined) {
			params.push(status);
		}
		params.push(size + 1, offset);
		const rows = await this._runner.run<TaskRow[]>(
			this._statements.query(type !== undefined, status !== undefined, column, sortDirection),
			params,
			{ idempotent: true }
		);
		const entities = rows.slice(0, size).map(fromRow);
		return rows.length > size ? { entities, cursor: String(offset + size) } : { entities };
	}

	/**
	 * Remove final tasks whose retain date has passed, in one statement.
	 * @param nowMs The current time.
	 * @returns How many were removed.
	 */
	public async sweep(nowMs: number): Promise<number> {
		const result = await this._runner.run(this._statements.sweep, [nowMs], { idempotent: false });
		return result.count;
	}

	/**
	 * One due pending task of the thread per type, among the 100 due first.
	 * @param threadId The thread.
	 * @param nowMs The current time.
	 * @returns One task id per type.
	 */
	public async dueSample(threadId: string, nowMs: number): Promise<{ id: string; type: string }[]> {
		const rows = await this._runner.run<{ id: string; type: string }[]>(
			this._statements.dueSample,
			[threadId, new Date(nowMs).toISOString()],
			{ idempotent: true, repeat: false }
		);
		return rows.map(r => ({ id: r.id, type: r.type }));
	}
}
