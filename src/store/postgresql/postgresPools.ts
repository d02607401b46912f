// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import postgres from "postgres";
import type { TaskLog } from "../../utils/taskLog.js";
import type { IResolvedPostgresConfig } from "../../config/IResolvedPostgresConfig.js";
import { ConnectionSet } from "./connectionSet.js";
import { connectionError, connectionOptions } from "./postgresConnection.js";
import { PostgresListener } from "./postgresListener.js";
import { ensureTable } from "./postgresSchema.js";

/**
 * Seconds after which an idle connection of the pool used while no session is open is closed.
 */
const IDLE_TIMEOUT_S = 2;

/**
 * The connections of the native backend:
 * - while a session is open (start() to stop()): maxConnections connections and the LISTEN
 *   connection, kept open. With maxConnections of 2 or more, one of the connections is the
 *   scheduler's own (scheduler), for its claims and settles: the claims of a type in flight
 *   together queue on it and the server runs them one after another, each as soon as the one
 *   before has committed, rather than side by side, where each locked and skipped the other's
 *   rows (SKIP LOCKED), which costs more server CPU per task; and one server process runs the
 *   claims and the settles, which costs both sides less CPU per task than two side by side
 *   (see docs/performance.md);
 * - while none is (the connector creates, reads and changes tasks before start() and after
 *   stop()): a small pool that connects on first use and closes its connections when idle, so it
 *   never keeps the process alive.
 * Each pool is a ConnectionSet of clients of one connection each (why: connectionSet.ts). Each new
 * pool first makes the table ready; a connection that fails gives connectFailed naming host,
 * port, user and database, never the password.
 */
export class PostgresPools {
	/**
	 * The session's pool.
	 * @internal
	 */
	private _session?: ConnectionSet;

	/**
	 * The session's connection for claims and settles, when the pool has room for one of its own.
	 * @internal
	 */
	private _scheduler?: postgres.Sql;

	/**
	 * The LISTEN connection of the session.
	 * @internal
	 */
	private _listener?: PostgresListener;

	/**
	 * The pool used while no session is open, and its table check.
	 * @internal
	 */
	private _idle?: { set: ConnectionSet; ready: Promise<void> };

	/**
	 * Create a new PostgresPools.
	 * @param source The class name for errors.
	 * @param config The resolved config.
	 * @param channel The notification channel.
	 * @param log The log.
	 * @param connectTimeout Seconds to wait for a connection, when not the default.
	 */
	constructor(
		private readonly source: string,
		private readonly config: IResolvedPostgresConfig,
		private readonly channel: string,
		private readonly log: TaskLog | undefined,
		private readonly connectTimeout?: number
	) {}

	/**
	 * The session's pool, while a session is open.
	 * @returns The pool or undefined.
	 */
	public get session(): ConnectionSet | undefined {
		return this._session;
	}

	/**
	 * The connection for claims and settles while a session is open: its own, or the session's
	 * pool when maxConnections is 1.
	 * @returns The pool or undefined.
	 */
	public get scheduler(): postgres.Sql | undefined {
		return this._scheduler ?? this._session?.first;
	}

	/**
	 * Open a session: close the idle pool, connect a new pool, make the table ready and LISTEN.
	 * @param onNotify Called with the payload of each notification on the channel.
	 * @throws GeneralError connectFailed, or tableIncompatible.
	 */
	public async openSession(onNotify: (payload: string) => void): Promise<void> {
		await this.closeIdle();
		const options = connectionOptions(this.config, this.connectTimeout);
		const ownScheduler = this.config.maxConnections > 1;
		const set = connections(options, this.config.maxConnections - (ownScheduler ? 1 : 0));
		// Connects on its first claim.
		const scheduler = ownScheduler ? postgres({ ...options, max: 1 }) : undefined;
		const listener = new PostgresListener(options, this.channel, onNotify);
		try {
			// Each on a connection of its own, so a node's start waits for the longer of the two,
			// not for both in turn; a failed table check is the error reported.
			const [table, listening] = await Promise.allSettled([
				this.prepareTable(set.first),
				listener.start()
			]);
			for (const settled of [table, listening]) {
				if (settled.status === "rejected") {
					throw settled.reason;
				}
			}
		} catch (err) {
			await listener.stop().catch(() => undefined);
			await set.end({ timeout: 1 });
			await scheduler?.end({ timeout: 1 }).catch(() => undefined);
			throw this.clearError(err);
		}
		this._session = set;
		this._scheduler = scheduler;
		this._listener = listener;
	}

	/**
	 * Replace the scheduler's connection after a statement on it passed its deadline, or failed
	 * because connecting timed out. postgres.js can leave a connection waiting for good for an
	 * answer the server will never send, after the server ended it at the wrong moment
	 * (porsager/postgres#708, #1195), or time out connecting on every attempt after a restart
	 * (docs/reliability.md); on a pool of one connection every later claim and settle would queue
	 * behind it. The old pool is destroyed, so what still waits on it fails now and its callers
	 * repeat it on the new one. With maxConnections 1 the scheduler's connection is the session's
	 * only one, and that is replaced.
	 * @param stale The pool the statement ran on: nothing is done when it is not the scheduler's
	 * any more (replaced already, or the session closed).
	 */
	public renewScheduler(stale: postgres.Sql): void {
		// With maxConnections 1, the session's only client.
		const shared = this._scheduler === undefined ? this._session : undefined;
		if (this._scheduler !== stale && shared?.first !== stale) {
			return;
		}
		const fresh = postgres({ ...connectionOptions(this.config, this.connectTimeout), max: 1 });
		if (shared) {
			shared.replace(stale, fresh);
		} else {
			this._scheduler = fresh;
		}
		this.log?.log("warn", "schedulerRenewed", {});
		stale.end({ timeout: 0 }).catch(() => undefined);
	}

	/**
	 * Close the session: UNLISTEN, end its pool (in-flight statements get a short time to finish).
	 */
	public async closeSession(): Promise<void> {
		const set = this._session;
		const scheduler = this._scheduler;
		const listener = this._listener;
		this._session = undefined;
		this._scheduler = undefined;
		this._listener = undefined;
		await listener?.stop().catch(() => undefined);
		await Promise.all([
			set?.end({ timeout: 2 }),
			scheduler?.end({ timeout: 2 }).catch(() => undefined)
		]);
	}

	/**
	 * Close the pool used while no session is open.
	 */
	public async closeIdle(): Promise<void> {
		const idle = this._idle;
		this._idle = undefined;
		await idle?.set.end({ timeout: 1 });
	}

	/**
	 * LISTEN again if the LISTEN connection dropped.
	 * @returns True when it listened again (notifications may have been missed meanwhile).
	 * @throws The connection error.
	 */
	public async ensureListening(): Promise<boolean> {
		return (await this._listener?.ensure()) ?? false;
	}

	/**
	 * A pool for reads and writes: the session's while open, else the idle pool, connected (and
	 * the table made ready) on first use.
	 * @returns The pool.
	 * @throws GeneralError connectFailed when the first connection fails.
	 */
	public async db(): Promise<ConnectionSet> {
		if (this._session) {
			return this._session;
		}
		if (!this._idle) {
			const set = connections(
				{ ...connectionOptions(this.config, this.connectTimeout), idle_timeout: IDLE_TIMEOUT_S },
				Math.min(2, this.config.maxConnections)
			);
			const ready = this.prepareTable(set.first).catch(async err => {
				if (this._idle?.set === set) {
					this._idle = undefined;
				}
				await set.end({ timeout: 1 });
				throw this.clearError(err);
			});
			this._idle = { set, ready };
		}
		const idle = this._idle;
		await idle.ready;
		return idle.set;
	}

	/**
	 * Make the table ready on a new pool, logging what was upgraded.
	 * @param sql The pool.
	 * @internal
	 */
	private async prepareTable(sql: postgres.Sql): Promise<void> {
		const changes = await ensureTable(sql, this.config.tableName);
		if (changes.length > 0) {
			this.log?.log("warn", "tableUpgraded", {
				table: this.config.tableName,
				changes: changes.join(", ")
			});
		}
	}

	/**
	 * The error to throw for a failed connect or table check: a GeneralError as it is, anything
	 * else as connectFailed.
	 * @param err The error.
	 * @returns The error.
	 * @internal
	 */
	private clearError(err: unknown): unknown {
		return err instanceof GeneralError
			? err
			: connectionError(this.source, "connectFailed", this.config, err, this.connectTimeout);
	}
}

/**
 * A pool of clients of one connection each.
 * @param options The connection options.
 * @param count How many connections.
 * @returns The pool.
 */
function connections(options: postgres.Options<{}>, count: number): ConnectionSet {
	return new ConnectionSet(Array.from({ length: count }, () => postgres({ ...options, max: 1 })));
}
