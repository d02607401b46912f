// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The throw-away PostgreSQL server of the PostgreSQL benchmark scenarios (pgScenarios.mjs),
// started once by bench/run.mjs when a selected scenario needs it and shared by every peer (our
// native backend, our entity-storage path over TWIN's PostgreSQL connector, graphile-worker), each
// in its own database, schema or table. The launcher is the one the tests and the demo use
// (scripts/servers/postgres.mjs); a server left behind by a run killed outright is removed by the
// next start.
//
// Unlike the test server (fsync off, synchronous_commit off), this one keeps PostgreSQL's DEFAULT
// durability settings, so every number is what a real deployment pays: fsync on,
// synchronous_commit on (each commit waits for its WAL flush), full_page_writes on, default
// shared_buffers, checkpoints and autovacuum. The only settings changed are where it listens and
// max_connections (200 instead of 100: eight graphile-worker or native node processes with a pool
// of 10 each, plus listeners and the admin clients, must fit). `SERVER_SETTINGS` lists them; the
// values the server actually runs with are read back with SHOW and written to the results JSON.
//
// The children reach it through the environment variable named by `ENV_KEY` (inherited from the
// parent): connection details, the postmaster pid (for the server CPU per task) and the database
// of each peer.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPostgresBin, startPostgres } from "../../scripts/servers/postgres.mjs";

export { findPostgresBin };

/**
 * The environment variable carrying the server's details to the benchmark children (JSON).
 */
export const ENV_KEY = "TWIN_BENCH_POSTGRES";

/**
 * The environment variable carrying why the server could not start, so the PostgreSQL jobs fail
 * with the reason instead of the whole run.
 */
export const ENV_ERROR_KEY = "TWIN_BENCH_POSTGRES_ERROR";

/**
 * Where the server log of the last run is kept when the server is removed (git-ignored .tmp/).
 */
export const SERVER_LOG_COPY = join(
	dirname(fileURLToPath(import.meta.url)),
	"..",
	"..",
	".tmp",
	"bench-postgres-server.log"
);

/**
 * One database per peer that honours config.database, so peers never collide (graphile-worker
 * also gets a fresh schema per run, the native backend a fresh table per run).
 */
export const DATABASES = { graphile: "bench_graphile", native: "bench_native" };

/**
 * The settings passed to the server besides listen address, port and socket directory. Everything
 * else is PostgreSQL's default.
 */
export const SERVER_SETTINGS = { max_connections: "200" };

/**
 * Settings read back from the running server for the results (durability and memory).
 */
const REPORTED_SETTINGS = [
	"server_version",
	"fsync",
	"synchronous_commit",
	"full_page_writes",
	"wal_level",
	"wal_sync_method",
	"shared_buffers",
	"max_wal_size",
	"checkpoint_timeout",
	"autovacuum",
	"max_connections",
	"jit"
];

/**
 * @typedef {object} BenchPostgres
 * @property {string} host Loopback host.
 * @property {number} port TCP port.
 * @property {string} user The superuser (trust authentication: any password works).
 * @property {string} password A placeholder password (TWIN's connector requires one).
 * @property {string} database The user's default database.
 * @property {{ graphile: string, native: string }} databases The database of each peer.
 * @property {number} postmasterPid The postmaster's pid (its children are the server's processes).
 * @property {string} dir The temporary directory (data, socket, log).
 * @property {Record<string, string>} settings The settings the server runs with (SHOW).
 * @property {() => Promise<void>} stop Stop the server and remove its directory (idempotent).
 * @property {() => void} stopSync The same, synchronously (for process exit handlers).
 */

/**
 * Start a throw-away server with PostgreSQL's default durability settings and create a database
 * per peer.
 * @returns {Promise<BenchPostgres>} The running server.
 * @throws Error with the reason when the binaries are missing or the server does not start.
 */
export async function startBenchPostgres() {
	const server = await startPostgres({
		settings: SERVER_SETTINGS,
		databases: Object.values(DATABASES),
		reportedSettings: REPORTED_SETTINGS,
		keepLog: SERVER_LOG_COPY
	});
	const { restart, ca, ...details } = server;
	return { ...details, password: "trust", databases: { ...DATABASES } };
}

/**
 * The description of a running server passed to the children (no functions).
 * @param {BenchPostgres} server The server.
 * @returns {object} The JSON-able details.
 */
export function serverDetails(server) {
	const { stop, stopSync, ...details } = server;
	return details;
}
