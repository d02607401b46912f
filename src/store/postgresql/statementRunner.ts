// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import type postgres from "postgres";
import { isConnectionGone, transaction } from "./postgresConnection.js";
import type { PostgresPools } from "./postgresPools.js";
import type { IStatementOptions } from "./IStatementOptions.js";
import type { IUnitOptions } from "./IUnitOptions.js";
import { UNIQUE_VIOLATION } from "./postgresNames.js";

/**
 * Every statement is prepared once per connection, then costs one round trip (postgres.js
 * otherwise describes an unprepared statement with parameters first: two).
 */
const PREPARED = { prepare: true } as const;

/**
 * The pauses before each repeat of an idempotent statement whose connection was lost, ms
 * (1.4 s in all: long enough for a server restart or a failover to finish).
 */
const REPEAT_PAUSES_MS = [100, 300, 1000];

/**
 * A statement's parameters.
 */
export type StatementParams = readonly unknown[];

/**
 * Runs one statement of a unit of work, prepared, on the unit's connection (or transaction).
 */
export type RunStatement = <R extends unknown[] = postgres.Row[]>(
	statement: string,
	params: StatementParams
) => Promise<postgres.RowList<R>>;

/**
 * The one place statements of the native backend are run: it prepares them, chooses the pool,
 * bounds the wait for the statements given a deadline, and repeats an idempotent statement whose
 * connection was lost (never another: it might have committed).
 */
export class StatementRunner {
	/**
	 * Create a new StatementRunner.
	 * @param _source The class name for errors.
	 * @param _pools The connections.
	 * @param _deadlineMs How long a statement given a deadline may go unanswered, ms.
	 */
	constructor(
		private readonly _source: string,
		private readonly _pools: PostgresPools,
		private readonly _deadlineMs: number
	) {}

	/**
	 * Is a session open.
	 * @returns True while open.
	 */
	public get isOpen(): boolean {
		return this._pools.session !== undefined;
	}

	/**
	 * Refuse what only an open session may do.
	 * @throws GeneralError notOpen when no session is open.
	 */
	public assertOpen(): void {
		this.openOnly(this._pools.session);
	}

	/**
	 * Run one statement.
	 * @param statement The statement's text.
	 * @param params Its parameters.
	 * @param options How to run it.
	 * @returns The rows.
	 */
	public async run<R extends unknown[] = postgres.Row[]>(
		statement: string,
		params: StatementParams,
		options: IStatementOptions
	): Promise<postgres.RowList<R>> {
		return this.repeating(options, async () =>
			this.onPool(options.on, async sql =>
				this.bounded(sql.unsafe<R>(statement, asParams(params), PREPARED), options, sql)
			)
		);
	}

	/**
	 * Run one statement, its rows read as arrays of values (no row objects to build).
	 * @param statement The statement's text.
	 * @param params Its parameters.
	 * @param options How to run it.
	 * @returns The rows' values.
	 */
	public async values(
		statement: string,
		params: StatementParams,
		options: IStatementOptions
	): Promise<unknown[][]> {
		return this.repeating(options, async () =>
			this.onPool(options.on, async sql => {
				const query = sql.unsafe<unknown[][]>(statement, asParams(params), PREPARED).values();
				return this.bounded(query, options, sql) as Promise<unknown[][]>;
			})
		);
	}

	/**
	 * Run several statements as one unit on one pool: repeated as a whole, bounded as a whole.
	 * @param work Runs the statements with the function it is given.
	 * @param options How to run it.
	 * @returns What work returned, or ifStored's value.
	 */
	public async unit<T>(
		work: (run: RunStatement) => Promise<T>,
		options: IUnitOptions<T>
	): Promise<T> {
		return this.repeating(
			options,
			async () =>
				this.onPool(options.on, async sql => {
					// The unit's statement in flight, which its deadline cancels.
					const current: ICancellable = {};
					const done = options.transaction
						? transaction(sql, async tx => work(runOn(tx, current)))
						: work(runOn(sql, current));
					return this.bounded(done, options, sql, current);
				}),
			options.ifStored
		);
	}

	/**
	 * Run op, and when the statement is idempotent and its connection is gone (a server restart, a
	 * failover) or the server refuses connections for a moment, run it again after a pause, up to
	 * REPEAT_PAUSES_MS. Why only an idempotent one: a lost connection leaves unknown whether the
	 * statement committed, and an idempotent statement may run twice without harm, while a
	 * non-idempotent one might have committed, so its error goes to the caller.
	 * @param options The statement's options.
	 * @param op The statement.
	 * @param ifStored For a create: whether it is stored, and what to return then.
	 * @returns What op returned, or ifStored's value.
	 * @throws op's error; the last connection error when every repeat lost its connection.
	 * @internal
	 */
	private async repeating<T>(
		options: IStatementOptions,
		op: () => Promise<T>,
		ifStored?: () => Promise<{ value: T } | undefined>
	): Promise<T> {
		if (!options.idempotent || options.repeat === false) {
			return op();
		}
		for (let attempt = 0; ; attempt++) {
			try {
				return await op();
			} catch (err) {
				const code = (err as { code?: unknown }).code;
				if (attempt > 0 && ifStored && code === UNIQUE_VIOLATION) {
					const stored = await ifStored();
					if (stored !== undefined) {
						return stored.value;
					}
				}
				// A create's statement left unanswered past its deadline is repeated as a lost one is:
				// the repeat finds what the first attempt may have stored (ifStored).
				const lost =
					isConnectionGone(err) ||
					code === "ECONNREFUSED" ||
					(ifStored !== undefined && isTimedOut(err));
				if (!lost || attempt === REPEAT_PAUSES_MS.length) {
					throw err;
				}
				await new Promise(resolve => setTimeout(resolve, REPEAT_PAUSES_MS[attempt]));
			}
		}
	}

	/**
	 * Bound the wait for a statement given a deadline: after it the query is cancelled (best
	 * effort) and the wait fails, so the caller's own retry takes over. postgres.js can leave a
	 * query pending for good when the server ends its connection at the wrong moment
	 * (porsager/postgres#708, #1195; see docs/reliability.md). Only statements whose late
	 * completion is harmless are given one: claims are leased (an unregistered one expires and is
	 * claimed again), settles are fenced (a repeat writes nothing), a late renewal only extends a
	 * lease, and a late unclaim gives back tasks this instance has already dropped.
	 * A create is given one too: repeated after it, it finds what the first attempt may have
	 * stored (IUnitOptions.ifStored), so it is stored once. A late statement on the scheduler's
	 * connection, or one that failed there because connecting timed out, has that connection
	 * replaced (PostgresPools.renewScheduler): the claims and settles behind it would otherwise
	 * wait on it too.
	 * @param query The query.
	 * @param options The statement's deadline name (undefined: not bounded) and scale.
	 * @param pool The pool the statement runs on.
	 * @param current For a unit, its statement in flight, cancelled instead of the query.
	 * @returns The query's result.
	 * @internal
	 */
	private async bounded<T>(
		query: Promise<T>,
		options: Pick<IStatementOptions, "deadline" | "deadlineScale">,
		pool: postgres.Sql,
		current?: ICancellable
	): Promise<T> {
		const what = options.deadline;
		if (what === undefined) {
			return query;
		}
		const deadline = this._deadlineMs * (options.deadlineScale ?? 1);
		let timer: NodeJS.Timeout | undefined;
		const expired = new Promise<never>((_, reject) => {
			timer = setTimeout(() => {
				(current ? current.query : (query as ICancellable["query"]))?.cancel?.();
				this._pools.renewScheduler(pool);
				reject(new GeneralError(this._source, "statementTimedOut", { what, ms: deadline }));
			}, deadline);
		});
		try {
			return await Promise.race([query, expired]);
		} catch (err) {
			// A connection that timed out connecting after a server restart was seen to time out
			// again on each attempt, while a new one connected at once (docs/reliability.md).
			if ((err as { code?: unknown }).code === "CONNECT_TIMEOUT") {
				this._pools.renewScheduler(pool);
			}
			throw err;
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * Run work on the scheduler's connection, or on a connection of the session's pool (of the
	 * pool used while no session is open, when on is undefined).
	 * @param on Which.
	 * @param work The work, given the connection's client.
	 * @returns What work returned.
	 * @throws GeneralError notOpen when a session's connection is asked for and none is open.
	 * @internal
	 */
	private onPool<T>(
		on: IStatementOptions["on"],
		work: (sql: postgres.Sql) => Promise<T>
	): Promise<T> {
		// Not async: the claims and settles, on the scheduler's connection, take no promise more.
		if (on === "scheduler") {
			return work(this.openOnly(this._pools.scheduler));
		}
		if (on === "session") {
			return this.openOnly(this._pools.session).use(work);
		}
		return this._pools.db().then(async set => set.use(work));
	}

	/**
	 * A session's part, refused when no session is open.
	 * @param part The part, undefined when no session is open.
	 * @returns The part.
	 * @throws GeneralError notOpen when no session is open.
	 * @internal
	 */
	private openOnly<T>(part: T | undefined): T {
		if (part === undefined) {
			throw new GeneralError(this._source, "notOpen");
		}
		return part;
	}
}

/**
 * A unit's statement in flight, if any: a postgres.js query can be cancelled.
 */
interface ICancellable {
	/**
	 * The query.
	 */
	query?: { cancel?: () => void };
}

/**
 * Whether an error is a statement's deadline passing (StatementRunner.bounded).
 * @param err The error.
 * @returns True if so.
 */
function isTimedOut(err: unknown): boolean {
	return err instanceof GeneralError && err.message.endsWith(".statementTimedOut");
}

/**
 * A statement runner on a pool or a transaction.
 * @param sql The pool or transaction.
 * @param current Where the statement in flight is kept, for the unit's deadline to cancel.
 * @returns The runner.
 */
function runOn(sql: postgres.Sql | postgres.TransactionSql, current: ICancellable): RunStatement {
	return async <R extends unknown[]>(statement: string, params: StatementParams) => {
		const query = sql.unsafe<R>(statement, asParams(params), PREPARED);
		current.query = query;
		return query;
	};
}

/**
 * Parameters as postgres.js types them (every value given is one it can send).
 * @param params The parameters.
 * @returns The same array.
 */
function asParams(params: StatementParams): postgres.ParameterOrJSON<never>[] {
	return params as postgres.ParameterOrJSON<never>[];
}
