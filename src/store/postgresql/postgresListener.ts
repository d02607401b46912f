// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import postgres from "postgres";
import { quoteIdentifier } from "./postgresNames.js";

/**
 * The connection that LISTENs for wake-ups on the table's channel: one connection of its own,
 * outside the pool (a LISTEN holds its connection for the whole session). When the connection
 * drops (server restart, network), `ensure()` (called by the heartbeat) connects and LISTENs again
 * and reports it, since notifications sent meanwhile were lost.
 *
 * postgres.js has a listen() of its own, but after a reconnect that fails once (the server still
 * down) it stops listening for good; this one retries on every ensure().
 */
export class PostgresListener {
	/**
	 * The connection, while started.
	 * @internal
	 */
	private _sql?: postgres.Sql;

	/**
	 * Whether the LISTEN is in force on the current connection.
	 * @internal
	 */
	private _listening = false;

	/**
	 * A LISTEN in flight.
	 * @internal
	 */
	private _pending?: Promise<void>;

	/**
	 * Create a new PostgresListener.
	 * @param options The connection options (those of the pool).
	 * @param channel The channel.
	 * @param onNotify Called with the payload of each notification on the channel.
	 */
	constructor(
		private readonly options: postgres.Options<{}>,
		private readonly channel: string,
		private readonly onNotify: (payload: string) => void
	) {}

	/**
	 * Is the LISTEN in force.
	 * @returns True while listening.
	 */
	public get listening(): boolean {
		return this._listening;
	}

	/**
	 * Connect and LISTEN.
	 * @throws The connection error.
	 */
	public async start(): Promise<void> {
		// onnotify and onclose are postgres.js options its types do not declare.
		const options: postgres.Options<{}> & {
			onnotify: (channel: string, payload: string) => void;
			onclose: () => void;
		} = {
			...this.options,
			max: 1,
			idle_timeout: undefined,
			max_lifetime: null,
			fetch_types: false,
			onnotify: (channel: string, payload: string) => {
				if (channel === this.channel) {
					this.onNotify(payload);
				}
			},
			onclose: () => {
				this._listening = false;
			}
		};
		this._sql ??= postgres(options);
		await this.listen();
	}

	/**
	 * LISTEN again if the connection dropped since.
	 * @returns True when it listened again (notifications may have been missed), false when it
	 * was listening already.
	 * @throws The connection error.
	 */
	public async ensure(): Promise<boolean> {
		if (this._listening || !this._sql) {
			return false;
		}
		await this.listen();
		return true;
	}

	/**
	 * UNLISTEN and close the connection.
	 */
	public async stop(): Promise<void> {
		const sql = this._sql;
		this._sql = undefined;
		if (!sql) {
			return;
		}
		if (this._listening) {
			this._listening = false;
			await sql.unsafe(`UNLISTEN ${quoteIdentifier(this.channel)}`).catch(() => undefined);
		}
		await sql.end({ timeout: 1 });
	}

	/**
	 * Issue the LISTEN, one at a time.
	 * @internal
	 */
	private async listen(): Promise<void> {
		const sql = this._sql;
		if (!sql) {
			return;
		}
		this._pending ??= sql
			.unsafe(`LISTEN ${quoteIdentifier(this.channel)}`)
			.then(() => {
				this._listening = this._sql === sql;
			})
			.finally(() => {
				this._pending = undefined;
			});
		await this._pending;
	}
}
