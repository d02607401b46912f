// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Configuration of the native PostgreSQL backend (`config.postgresql`): JSON only, so a TWIN
 * engine can pass it from its config file. The connection fields have the names and meanings of
 * TWIN's `IPostgreSqlEntityStorageConnectorConfig`, so a node reuses its settings.
 */
export interface IPostgreSqlBackendConfig {
	/**
	 * The host of the PostgreSQL server.
	 */
	host: string;

	/**
	 * The port of the PostgreSQL server.
	 * @default 5432
	 */
	port?: number;

	/**
	 * The user to connect as.
	 */
	user: string;

	/**
	 * The password of the user. Never logged and never part of an error.
	 */
	password: string;

	/**
	 * The database to connect to (honoured, unlike TWIN's connector, which connects to the user's
	 * default database); it must exist.
	 */
	database: string;

	/**
	 * The table holding the tasks: letters, digits and underscores, not starting with a digit, at
	 * most 63 characters; always quoted in SQL, so the case matters. Created with its indexes when
	 * missing; an existing table gets the backend's extra columns ("leaseOwner", "leaseExpires").
	 */
	tableName: string;

	/**
	 * TLS for the connections: true to require TLS verified against the system's CAs, or the TLS
	 * options (PEM strings) passed to Node's tls.connect. Absent or false: no TLS.
	 */
	ssl?:
		| boolean
		| {
				/**
				 * Reject a server certificate that does not verify against the CAs.
				 * @default true
				 */
				rejectUnauthorized?: boolean;

				/**
				 * The CA certificates to trust, PEM.
				 */
				ca?: string;

				/**
				 * The client certificate, PEM.
				 */
				cert?: string;

				/**
				 * The client private key, PEM.
				 */
				key?: string;
		  };

	/**
	 * The size of the connection pool, integer >= 1; from 2, one of its connections is kept for
	 * claims. The connection that listens for wake-ups (LISTEN) is separate: a node opens at most
	 * maxConnections + 1 connections.
	 * @default 10
	 */
	maxConnections?: number;

	/**
	 * How long a claim holds a task without being renewed, in milliseconds, integer >= 1000. A task
	 * whose lease expired (its node died or lost contact) is claimed again by any node.
	 * @default 30000
	 */
	leaseTimeout?: number;

	/**
	 * How often the leases of the tasks a node holds are renewed, in milliseconds, integer >= 100
	 * and below leaseTimeout.
	 * @default leaseTimeout / 3
	 */
	heartbeatInterval?: number;

	/**
	 * The most tasks of one type a node claims ahead of running them (claimed, not yet started),
	 * integer >= 1. Such tasks are leased like running ones and given back on stop(), so they never
	 * starve other nodes: a node holds at most this many waiting tasks per type, every other due
	 * task stays claimable by the other nodes. Claiming in batches this size is where the
	 * throughput comes from (one statement per batch); measured here, 100 gave 3,961 tasks/s and
	 * 500 gave 9,083 tasks/s on one node (docs/performance.md). A node that starts while others
	 * hold their batches finds the rest of the backlog; with backlogs smaller than nodes x this
	 * bound, lower it to spread a burst more evenly.
	 * @default 500
	 */
	localQueueSize?: number;

	/**
	 * The table's dead rows at which a node vacuums it itself, integer 0 to 10,000,000; 0 leaves it
	 * to autovacuum. Each task that ends or is retried leaves a dead entry at the head of the claim
	 * index that every claim steps over until a vacuum, and autovacuum comes once a minute at most.
	 * A node whose claims are small (fewer than 32 tasks each on average: several nodes sharing a
	 * trickle) looks at the dead rows after settling a quarter of this many tasks, at most once a
	 * second, and vacuums when they reach it (skipped while autovacuum or another node vacuums the
	 * table); see docs/scale-out.md. Needs a role that owns the table or the database, and
	 * PostgreSQL 12 or later; otherwise the node logs once and leaves it to autovacuum.
	 * @default 2000
	 */
	vacuumEvery?: number;

	/**
	 * How long to wait for a connection to the server, in seconds, integer 1 to 600; a connection
	 * not made by then fails with an error naming the host, port and user (CONNECT_TIMEOUT), and
	 * the call that needed it fails or is retried. Measured here: a connection attempted while
	 * the server restarts can get no answer at all and waits this long.
	 * @default 10
	 */
	connectTimeout?: number;
}
