// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IPostgreSqlBackendConfig } from "../models/IPostgreSqlBackendConfig.js";

/**
 * The native PostgreSQL backend's configuration with every default applied.
 */
export interface IResolvedPostgresConfig {
	/**
	 * The server host.
	 */
	host: string;

	/**
	 * The server port.
	 */
	port: number;

	/**
	 * The user.
	 */
	user: string;

	/**
	 * The password.
	 */
	password: string;

	/**
	 * The database.
	 */
	database: string;

	/**
	 * The table, a checked identifier (quote it before use).
	 */
	tableName: string;

	/**
	 * TLS options as given.
	 */
	ssl: IPostgreSqlBackendConfig["ssl"];

	/**
	 * Pool size.
	 */
	maxConnections: number;

	/**
	 * Lease length, ms.
	 */
	leaseTimeout: number;

	/**
	 * Lease renewal period, ms.
	 */
	heartbeatInterval: number;

	/**
	 * Claimed-but-not-started tasks per type, at most.
	 */
	localQueueSize: number;

	/**
	 * Seconds to wait for a connection.
	 */
	connectTimeout: number;

	/**
	 * The table's dead rows at which a node whose claims are small vacuums it; 0 never.
	 */
	vacuumEvery: number;
}
