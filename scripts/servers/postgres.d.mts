// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Declarations of scripts/servers/postgres.mjs for the TypeScript that imports it
// (tests/setup/postgres.ts, tests/setup/sharedPostgres.ts).

/**
 * The superuser initdb creates; its default database ("postgres") exists.
 */
export declare const POSTGRES_SUPERUSER: string;

/**
 * The settings of a test server: no flush at commit, fast rather than durable.
 */
export declare const FAST_SETTINGS: { [name: string]: string };

/**
 * Options of a throw-away server.
 */
export interface IPostgresOptions {
	/**
	 * Server settings (-c name=value) besides where it listens; PostgreSQL's defaults otherwise.
	 */
	settings?: { [name: string]: string };

	/**
	 * Serve TLS (ssl=on) with a self-signed certificate for CN=localhost, IP 127.0.0.1.
	 */
	ssl?: boolean;

	/**
	 * Require this password of the superuser on TCP connections (scram-sha-256).
	 */
	password?: string;

	/**
	 * Databases to create.
	 */
	databases?: string[];

	/**
	 * Settings to read back with SHOW into `settings`.
	 */
	reportedSettings?: string[];

	/**
	 * Where to copy the server log when the server is removed.
	 */
	keepLog?: string;
}

/**
 * A running throw-away server.
 */
export interface IPostgres {
	/**
	 * Loopback host.
	 */
	host: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The superuser.
	 */
	user: string;

	/**
	 * The superuser's password (with the password option).
	 */
	password?: string;

	/**
	 * The user's default database.
	 */
	database: string;

	/**
	 * The postmaster's pid.
	 */
	postmasterPid: number;

	/**
	 * The temporary directory (data, socket, log).
	 */
	dir: string;

	/**
	 * The reported settings, as the server runs with them.
	 */
	settings: { [name: string]: string };

	/**
	 * With the ssl option: the server's certificate (PEM).
	 */
	ca?: string;

	/**
	 * Restart on the same port (fast shutdown: every connection is dropped).
	 */
	restart: () => Promise<void>;

	/**
	 * Stop the server and remove its directory; idempotent.
	 */
	stop: () => Promise<void>;

	/**
	 * The same, synchronously (for process exit handlers).
	 */
	stopSync: () => void;
}

/**
 * Find the directory holding initdb and pg_ctl: $PG_BIN, then the newest
 * /usr/lib/postgresql/<version>/bin, then the PATH.
 * @returns The directory, or undefined when the binaries are not installed.
 */
export declare function findPostgresBin(): string | undefined;

/**
 * Start a throw-away server.
 * @param options Settings, TLS, password, databases.
 * @returns The running server.
 */
export declare function startPostgres(options?: IPostgresOptions): Promise<IPostgres>;
