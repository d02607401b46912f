// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Declarations of scripts/servers/mariadb.mjs for the TypeScript that imports it
// (tests/setup/mariadb.ts).
import type { Connection } from "mysql2/promise";

/**
 * The shipped table definition (docs/background-task.mysql.sql).
 */
export declare const MYSQL_TABLE_SQL_FILE: URL;

/**
 * The table name used in the shipped definition.
 */
export declare const MYSQL_TABLE_NAME: string;

/**
 * The binaries of a MariaDB installation.
 */
export interface IMariaDbBinaries {
	/**
	 * The server.
	 */
	mariadbd: string;

	/**
	 * The data directory initialiser.
	 */
	installDb: string;
}

/**
 * The connection details of a server.
 */
export interface IMariaDbDetails {
	/**
	 * Loopback host.
	 */
	host: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The user, with every privilege.
	 */
	user: string;

	/**
	 * Its password.
	 */
	password: string;

	/**
	 * The database, holding the shipped table.
	 */
	database: string;
}

/**
 * A running throw-away server.
 */
export interface IMariaDb extends IMariaDbDetails {
	/**
	 * mariadbd's process id.
	 */
	pid: number;

	/**
	 * The temporary directory (data, socket, log).
	 */
	dir: string;

	/**
	 * Whether InnoDB runs with its default durability.
	 */
	durable: boolean;

	/**
	 * Settings read back from the server (version, durability, memory).
	 */
	settings: { [name: string]: string };

	/**
	 * An admin connection (multiple statements allowed) for set-up and inspection; ended by stop().
	 */
	sql: Connection;

	/**
	 * Seconds from the start to a connection on the new server: the data directory, then the
	 * server.
	 */
	startSeconds: { install: number; server: number };

	/**
	 * Stop the server and remove its directory; idempotent.
	 */
	stop: () => Promise<void>;

	/**
	 * The same, synchronously (SIGKILL; for process exit handlers).
	 */
	stopSync: () => void;
}

/**
 * Find mariadbd and mariadb-install-db: $MARIADB_BIN, then /usr/sbin, /usr/bin and the PATH.
 * @returns The binaries, or undefined when they are not installed.
 */
export declare function findMariaDbBinaries(): IMariaDbBinaries | undefined;

/**
 * Start a throw-away server.
 * @param options durable: keep InnoDB's default durability (default false).
 * @returns The running server.
 */
export declare function startMariaDb(options?: { durable?: boolean }): Promise<IMariaDb>;

/**
 * The config of TWIN's MySqlEntityStorageConnector for a table on the server.
 * @param server The server (or its details).
 * @param tableName The table, the shipped one by default.
 * @returns The config.
 */
export declare function mySqlConfig(
	server: IMariaDbDetails,
	tableName?: string
): IMariaDbDetails & { tableName: string };

/**
 * Create a table from the shipped definition under another name.
 * @param sql An admin connection allowing multiple statements.
 * @param tableName The new table.
 */
export declare function createMySqlTable(sql: Connection, tableName: string): Promise<void>;
