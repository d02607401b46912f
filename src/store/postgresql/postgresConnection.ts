// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import type postgres from "postgres";
import type { IResolvedPostgresConfig } from "./IResolvedPostgresConfig.js";

/**
 * Seconds to wait for a connection before failing, so a server that does not answer (dropped
 * packets, a wrong host) gives an error rather than a hang.
 */
export const CONNECT_TIMEOUT_S = 10;

/**
 * The postgres.js options for the pool.
 * @param config The resolved config.
 * @param connectTimeout Seconds to wait for a connection.
 * @returns The options.
 */
export function connectionOptions(
	config: IResolvedPostgresConfig,
	connectTimeout = CONNECT_TIMEOUT_S
): postgres.Options<{}> {
	return {
		host: config.host,
		port: config.port,
		user: config.user,
		password: config.password,
		database: config.database,
		ssl: sslOption(config.ssl),
		max: config.maxConnections,
		connect_timeout: connectTimeout,
		// Reconnect within a second after a server restart (postgres.js's default grows to 20 s
		// with the retries of the whole pool: statements waited ~10 s after a 250 ms restart).
		backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
		// IF NOT EXISTS and similar notices would be printed on the console.
		onnotice: () => {},
		connection: { application_name: "twin-background-task" }
	};
}

/**
 * The ssl option for postgres.js: true requires TLS verified against the system CAs (postgres.js
 * passes no options to tls.connect, whose default is to verify); an object is passed to
 * tls.connect as it is, without absent fields.
 * @param ssl The configured value.
 * @returns The postgres.js value.
 */
function sslOption(ssl: IResolvedPostgresConfig["ssl"]): boolean | object {
	if (ssl === undefined || ssl === false) {
		return false;
	}
	if (ssl === true) {
		return true;
	}
	const options: { [key: string]: unknown } = {};
	for (const [key, value] of Object.entries(ssl)) {
		if (value !== undefined) {
			options[key] = value;
		}
	}
	return options;
}

/**
 * A clear error for a connection that failed: the server, port, user and database it tried,
 * the cause's message, never the password.
 * @param source The class name.
 * @param message The message key.
 * @param config The resolved config.
 * @param err The cause.
 * @param connectTimeout The connect timeout in seconds, for the message of a timeout.
 * @returns The error.
 */
export function connectionError(
	source: string,
	message: string,
	config: IResolvedPostgresConfig,
	err: unknown,
	connectTimeout = CONNECT_TIMEOUT_S
): GeneralError {
	const cause = err as { message?: unknown; code?: unknown } | undefined;
	const reason = redact(
		cause?.code === "CONNECT_TIMEOUT"
			? `no answer within ${connectTimeout} s (CONNECT_TIMEOUT)`
			: String(cause?.message ?? err),
		config.password
	);
	const inner = new Error(reason);
	if (typeof cause?.code === "string") {
		inner.name = cause.code;
	}
	return new GeneralError(
		source,
		message,
		{
			host: config.host,
			port: config.port,
			user: config.user,
			database: config.database,
			reason
		},
		inner
	);
}

/**
 * Remove the password from a message, in case a cause ever quotes it.
 * @param text The message.
 * @param password The password.
 * @returns The message without it.
 */
function redact(text: string, password: string): string {
	return password.length >= 3 ? text.split(password).join("***") : text;
}
