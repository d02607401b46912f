// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The DynamoDB (dynalite) and MySQL (MariaDB) servers of the store scenarios
// (storeScenarios.mjs), started once by bench/run.mjs when a selected scenario needs them, with
// the launchers the tests use (scripts/servers/), and handed to the children through the
// environment like the PostgreSQL server (postgresServer.mjs): their details as JSON under
// `SERVERS[name].envKey`, or why they did not start under `SERVERS[name].errorKey`, so the jobs
// that need them fail with the reason instead of the whole run.
//
// dynalite ends itself when the bench process goes (its stdin closes); MariaDB runs with InnoDB's
// default durability (flush at every commit), as PostgreSQL runs with its defaults here, and a
// server left by a run killed with SIGKILL is removed by the next start.

/**
 * The servers: how to start one, the environment variables that carry it, and what of it the
 * children and the results get.
 */
export const SERVERS = {
	dynalite: {
		label: "dynalite (DynamoDB)",
		envKey: "TWIN_BENCH_DYNALITE",
		errorKey: "TWIN_BENCH_DYNALITE_ERROR",
		start: async () => (await import("../../scripts/servers/dynalite.mjs")).startDynalite(),
		details: s => ({ endpoint: s.endpoint, port: s.port, pid: s.pid, version: s.version }),
		describe: s => `dynalite ${s.version} on ${s.endpoint}`
	},
	mariadb: {
		label: "MariaDB (MySQL)",
		envKey: "TWIN_BENCH_MARIADB",
		errorKey: "TWIN_BENCH_MARIADB_ERROR",
		start: async () =>
			(await import("../../scripts/servers/mariadb.mjs")).startMariaDb({ durable: true }),
		details: s => ({
			host: s.host,
			port: s.port,
			user: s.user,
			password: s.password,
			database: s.database,
			pid: s.pid,
			settings: s.settings
		}),
		describe: s =>
			`MariaDB ${s.settings.version} on ${s.host}:${s.port} (innodb_flush_log_at_trx_commit ${s.settings.innodb_flush_log_at_trx_commit}, innodb_doublewrite ${s.settings.innodb_doublewrite})`
	}
};

/**
 * Start a server for the run and publish it to the children (or why it failed).
 * @param {keyof typeof SERVERS} name The server.
 * @param {(text: string) => void} log The progress log.
 * @returns {Promise<{ stop: () => Promise<void>, stopSync: () => void, details: object } | undefined>}
 *   The running server, undefined when it did not start (its jobs then fail with the reason).
 */
export async function startBenchServer(name, log) {
	const spec = SERVERS[name];
	try {
		const server = await spec.start();
		const details = spec.details(server);
		process.env[spec.envKey] = JSON.stringify(details);
		log(`bench: ${spec.describe(server)}`);
		return { stop: server.stop, stopSync: server.stopSync, details };
	} catch (err) {
		const reason = String(err?.message ?? err).split("\n")[0];
		process.env[spec.errorKey] = reason;
		log(`bench: ${spec.label} did not start, its scenarios will fail: ${err?.message}`);
		return undefined;
	}
}

/**
 * The server the parent started, in a child (from the environment).
 * @param {keyof typeof SERVERS} name The server.
 * @returns {any} Its details.
 * @throws Error when the parent did not start it (with its reason when it failed to).
 */
export function benchServer(name) {
	const spec = SERVERS[name];
	const raw = process.env[spec.envKey];
	if (!raw) {
		throw new Error(
			process.env[spec.errorKey]
				? `The benchmark ${spec.label} server did not start: ${process.env[spec.errorKey]}`
				: `No benchmark ${spec.label} server (${spec.envKey} unset): run its scenarios through bench/run.mjs`
		);
	}
	return JSON.parse(raw);
}
