// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";
import type postgres from "postgres";
import type { IResolvedPostgresConfig } from "../../config/IResolvedPostgresConfig.js";
import { CONNECT_TIMEOUT_S } from "../../config/postgresConfig.js";

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
		// with the retries of the whole pool; see docs/reliability.md).
		backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
		// IF NOT EXISTS and similar notices would be printed on the console.
		onnotice: () => {},
		// postgres.js 3.4.7 asks every new connection for the server's array types and leaves that
		// query's promise unhandled: a connection that closes before the answer (a server restart
		// during a large statement) ended the process with an unhandled rejection. The backend
		// passes its arrays as text (arrayLiteral) and reads none, so it needs no type list.
		fetch_types: false,
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

/**
 * Codes of postgres.js and of Node's sockets for a connection that is gone.
 */
const CONNECTION_GONE = new Set([
	"CONNECTION_CLOSED",
	"CONNECTION_DESTROYED",
	"CONNECTION_ENDED",
	"ECONNRESET",
	"EPIPE",
	"ETIMEDOUT"
]);

/**
 * Whether an error means the connection that ran the statement is gone: closed, reset, or ended
 * by the server with a FATAL error (a fast shutdown's admin_shutdown, 57P01), after which the
 * server closes it.
 * @param err The error.
 * @returns True when the connection is gone.
 */
export function isConnectionGone(err: unknown): boolean {
	const cause = err as { code?: unknown; severity?: unknown } | undefined;
	return (
		(typeof cause?.code === "string" && CONNECTION_GONE.has(cause.code)) ||
		cause?.severity === "FATAL" ||
		cause?.severity === "PANIC"
	);
}

/**
 * Run fn in a transaction (sql.begin) without the process crash postgres.js 3.4.7 has when the
 * transaction's connection is lost: when a statement of the transaction fails, sql.begin writes
 * ROLLBACK straight to the transaction's connection, and on a closed one that write throws a
 * TypeError from a setImmediate callback, which no caller can catch (porsager/postgres#1208, open;
 * see docs/reliability.md). So when a statement fails because the connection is gone, fn's
 * promise is left pending, and postgres.js writes neither ROLLBACK nor COMMIT: the server has
 * rolled the transaction back with the session.
 * This call rejects at once with that error, and sql.begin's own promise rejects when postgres.js
 * sees the close (it races the scope against the connection's close). Any other error is thrown
 * from fn as usual, and postgres.js rolls back on the live connection.
 * @param sql The pool.
 * @param fn The transaction's work.
 * @returns What fn returned, after COMMIT.
 * @throws The first error of fn, or the connection's.
 */
export async function transaction<T>(
	sql: postgres.Sql,
	fn: (tx: postgres.TransactionSql) => Promise<T>
): Promise<T> {
	let gone: (err: unknown) => void = () => {};
	const lost = new Promise<never>((resolve, reject) => {
		gone = reject;
	});
	const committed = sql.begin(async tx => {
		try {
			return await fn(tx);
		} catch (err) {
			if (!isConnectionGone(err)) {
				throw err;
			}
			gone(err);
			return new Promise<T>(() => {});
		}
	}) as Promise<T>;
	return Promise.race([committed, lost]);
}

/**
 * The strings an array literal may hold without quotes: letters, digits and `_.:+-` only, so no
 * separator, brace, quote, backslash or space, and never four characters (NULL in any case).
 * Ids, dates, statuses and numbers' text are such strings, and unquoted they need no copy.
 */
const BARE_ELEMENT = /^(?:[\w.:+-]{1,3}|[\w.:+-]{5,})$/;

/**
 * An array parameter as PostgreSQL's array literal, for statements that cast it ($1::text[]): the
 * pools do not fetch the server's array types (connectionOptions), so postgres.js cannot serialise
 * a JavaScript array itself. Strings are quoted with backslash escapes unless they are bare
 * (BARE_ELEMENT), numbers written as they are, booleans as t and f, undefined and null as NULL.
 * The elements are joined once: a settle writes up to seventeen such arrays, and concatenating
 * their elements one by one allocated about three times as much (docs/performance.md).
 * @param values The elements.
 * @returns The literal.
 */
export function arrayLiteral(values: readonly unknown[]): string {
	const elements = new Array<string>(values.length);
	for (let i = 0; i < values.length; i++) {
		const value = values[i];
		elements[i] =
			value === undefined || value === null
				? "NULL"
				: typeof value === "string"
					? BARE_ELEMENT.test(value)
						? value
						: `"${value.replace(/["\\]/g, "\\$&")}"`
					: typeof value === "boolean"
						? value
							? "t"
							: "f"
						: String(value);
	}
	return `{${elements.join(",")}}`;
}
