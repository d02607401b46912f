// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Declarations of scripts/servers/dynalite.mjs for the TypeScript that imports it
// (tests/setup/dynalite.ts).

/**
 * The region TWIN's DynamoDB connector is configured with (dynalite accepts any).
 */
export declare const DYNAMODB_REGION: string;

/**
 * A running dynalite.
 */
export interface IDynalite {
	/**
	 * The endpoint, http://127.0.0.1:<port>.
	 */
	endpoint: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The child's process id.
	 */
	pid: number;

	/**
	 * dynalite's version.
	 */
	version: string;

	/**
	 * Seconds from spawn to listening.
	 */
	startSeconds: number;

	/**
	 * End the process (its tables go with it); idempotent.
	 */
	stop: () => Promise<void>;

	/**
	 * The same, synchronously (SIGKILL; for process exit handlers).
	 */
	stopSync: () => void;
}

/**
 * Start dynalite in a child process.
 * @param timeoutMs How long to wait for it to listen (default 30 s).
 * @returns The running server.
 */
export declare function startDynalite(timeoutMs?: number): Promise<IDynalite>;

/**
 * The config of TWIN's DynamoDbEntityStorageConnector for a table on the server, with fake
 * credentials.
 * @param server The server (or its details).
 * @param tableName The table.
 * @returns The config.
 */
export declare function dynamoDbConfig(
	server: { endpoint: string },
	tableName: string
): {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	tableName: string;
};
