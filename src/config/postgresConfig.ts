// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Is, Validation, type IValidationFailure } from "@twin.org/core";
import type { IPostgreSqlBackendConfig } from "../models/IPostgreSqlBackendConfig.js";
import type { IResolvedPostgresConfig } from "./IResolvedPostgresConfig.js";

/**
 * The prefix of every failure's property name.
 */
const PREFIX = "config.postgresql";

/**
 * Seconds to wait for a connection before failing, so a server that does not answer (dropped
 * packets, a wrong host) gives an error rather than a hang.
 */
export const CONNECT_TIMEOUT_S = 10;

/**
 * The longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); a longer one is truncated.
 */
export const MAX_IDENTIFIER_LENGTH = 63;

/**
 * A table name the backend accepts: an unquoted-style SQL identifier, which it always quotes.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The longest timer delay, ms: larger settings would fire at once.
 */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Default lease length, ms.
 */
const DEFAULT_LEASE_TIMEOUT = 30_000;

/**
 * The default dead rows at which a node whose claims are small vacuums the table (TableUpkeep;
 * measured in docs/scale-out.md, "Dead row versions").
 */
const DEFAULT_VACUUM_EVERY = 2000;

/**
 * Validate `config.postgresql`, adding one failure per bad field, each named
 * `config.postgresql.<field>`. No failure carries the password or a TLS key or certificate.
 * @param config The value of config.postgresql.
 * @param failures The failures to add to.
 */
export function validatePostgresConfig(config: unknown, failures: IValidationFailure[]): void {
	if (!Validation.object(PREFIX, config, failures)) {
		return;
	}
	const values = config as { [key: string]: unknown };
	Validation.stringValue(`${PREFIX}.host`, values.host, failures);
	Validation.stringValue(`${PREFIX}.user`, values.user, failures);
	Validation.stringValue(`${PREFIX}.database`, values.database, failures);
	if (!Is.string(values.password)) {
		// Not Validation.string: its failure carries the value.
		failures.push(secretFailure("password", "validation.beText"));
	}
	// Validation's helpers return whether the whole list is still empty: count instead.
	const before = failures.length;
	Validation.stringValue(`${PREFIX}.tableName`, values.tableName, failures, undefined, {
		maxLength: MAX_IDENTIFIER_LENGTH
	});
	if (failures.length === before) {
		Validation.string(`${PREFIX}.tableName`, values.tableName, failures, undefined, {
			format: IDENTIFIER
		});
	}
	optionalInteger("port", values.port, failures, 1, 65535);
	optionalInteger("maxConnections", values.maxConnections, failures, 1, 1000);
	const leaseOk = optionalInteger(
		"leaseTimeout",
		values.leaseTimeout,
		failures,
		1000,
		MAX_TIMER_MS
	);
	const lease = leaseOk && Is.integer(values.leaseTimeout) ? values.leaseTimeout : undefined;
	optionalInteger(
		"heartbeatInterval",
		values.heartbeatInterval,
		failures,
		100,
		(lease ?? DEFAULT_LEASE_TIMEOUT) - 1
	);
	optionalInteger("localQueueSize", values.localQueueSize, failures, 1, 100_000);
	optionalInteger("connectTimeout", values.connectTimeout, failures, 1, 600);
	optionalInteger("vacuumEvery", values.vacuumEvery, failures, 0, 10_000_000);
	validateSsl(values.ssl, failures);
}

/**
 * Apply the defaults to a valid config.
 * @param config The config, already validated.
 * @returns The resolved config.
 */
export function resolvePostgresConfig(config: IPostgreSqlBackendConfig): IResolvedPostgresConfig {
	const leaseTimeout = config.leaseTimeout ?? DEFAULT_LEASE_TIMEOUT;
	return {
		host: config.host,
		port: config.port ?? 5432,
		user: config.user,
		password: config.password,
		database: config.database,
		tableName: config.tableName,
		ssl: config.ssl,
		maxConnections: config.maxConnections ?? 10,
		leaseTimeout,
		heartbeatInterval: config.heartbeatInterval ?? Math.max(1, Math.floor(leaseTimeout / 3)),
		localQueueSize: config.localQueueSize ?? 500,
		connectTimeout: config.connectTimeout ?? CONNECT_TIMEOUT_S,
		vacuumEvery: config.vacuumEvery ?? DEFAULT_VACUUM_EVERY
	};
}

/**
 * Validate the ssl field: a boolean or an object of TLS options.
 * @param ssl The value.
 * @param failures The failures to add to.
 */
function validateSsl(ssl: unknown, failures: IValidationFailure[]): void {
	if (Is.undefined(ssl) || Is.boolean(ssl)) {
		return;
	}
	if (!Is.object<{ [key: string]: unknown }>(ssl)) {
		failures.push(secretFailure("ssl", "validation.beObject"));
		return;
	}
	if (!Is.undefined(ssl.rejectUnauthorized)) {
		Validation.boolean(`${PREFIX}.ssl.rejectUnauthorized`, ssl.rejectUnauthorized, failures);
	}
	for (const field of ["ca", "cert", "key"]) {
		if (!Is.undefined(ssl[field]) && !Is.stringValue(ssl[field])) {
			failures.push(secretFailure(`ssl.${field}`, "validation.beTextValue"));
		}
	}
}

/**
 * Validate an optional integer within bounds.
 * @param field The field under config.postgresql.
 * @param value The value.
 * @param failures The failures to add to.
 * @param minValue The minimum.
 * @param maxValue The maximum.
 * @returns True when absent or valid.
 */
function optionalInteger(
	field: string,
	value: unknown,
	failures: IValidationFailure[],
	minValue: number,
	maxValue: number
): boolean {
	if (Is.undefined(value)) {
		return true;
	}
	const before = failures.length;
	Validation.integer(`${PREFIX}.${field}`, value, failures, undefined, { minValue, maxValue });
	return failures.length === before;
}

/**
 * A failure for a field whose value must not appear in messages (password, TLS material).
 * @param field The field under config.postgresql.
 * @param reason The reason key.
 * @returns The failure, without the value.
 */
function secretFailure(field: string, reason: string): IValidationFailure {
	return {
		property: `${PREFIX}.${field}`,
		reason,
		properties: { fieldName: "validation.defaultFieldName" }
	};
}
