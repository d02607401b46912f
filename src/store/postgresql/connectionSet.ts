// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type postgres from "postgres";

/**
 * Clients of one connection each, used as one pool. A statement goes to the client with the
 * fewest statements in flight (the first of those tied, so a light load keeps to one connection,
 * which a client opens on its first statement) and is pipelined there behind the ones before it.
 * Why not one postgres.js client of several connections: while it has more statements in flight
 * than connections, its queue of busy connections keeps an empty slot for each statement sent,
 * and each statement searches the whole queue (postgres.js 3.4, src/queue.js), so a statement's
 * CPU grows with the number sent before it for as long as the load lasts (docs/performance.md,
 * "A pool's queue"). A client of one connection has at most one in that queue.
 */
export class ConnectionSet {
	/**
	 * The statements in flight on each client.
	 * @internal
	 */
	private readonly _inFlight: number[];

	/**
	 * Create a new ConnectionSet.
	 * @param _clients The clients, each of one connection (max 1).
	 */
	constructor(private readonly _clients: postgres.Sql[]) {
		this._inFlight = _clients.map(() => 0);
	}

	/**
	 * The clients.
	 * @returns The clients, in order.
	 */
	public get clients(): readonly postgres.Sql[] {
		return this._clients;
	}

	/**
	 * The first client: the one a light load uses.
	 * @returns The client.
	 */
	public get first(): postgres.Sql {
		return this._clients[0];
	}

	/**
	 * Run work on the client with the fewest statements in flight, counted as in flight there until
	 * it ends.
	 * @param work The work, given the client.
	 * @returns What work returned.
	 */
	public async use<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
		let least = 0;
		for (let i = 1; i < this._inFlight.length; i++) {
			if (this._inFlight[i] < this._inFlight[least]) {
				least = i;
			}
		}
		this._inFlight[least]++;
		try {
			return await work(this._clients[least]);
		} finally {
			this._inFlight[least]--;
		}
	}

	/**
	 * Put a new client in the place of one.
	 * @param stale The client to replace.
	 * @param fresh Its replacement.
	 * @returns True when stale was one of the clients.
	 */
	public replace(stale: postgres.Sql, fresh: postgres.Sql): boolean {
		const index = this._clients.indexOf(stale);
		if (index === -1) {
			return false;
		}
		this._clients[index] = fresh;
		return true;
	}

	/**
	 * End every client's connection.
	 * @param options postgres.js's end options (how long in-flight statements may take).
	 * @param options.timeout Seconds.
	 */
	public async end(options: { timeout: number }): Promise<void> {
		await Promise.all(this._clients.map(async sql => sql.end(options).catch(() => undefined)));
	}
}
