// The PostgreSQL server of `--store postgres`: the one named by --url, or, without it, a throw-away
// server the demo starts from the machine's PostgreSQL binaries with the launcher the tests and the
// benchmark use (scripts/servers/postgres.mjs: initdb into a temporary directory, pg_ctl on a free
// loopback port, trust authentication, PostgreSQL's default durability), stopped and removed when
// the demo ends.
import { findPostgresBin, startPostgres } from "../servers/postgres.mjs";

/**
 * @typedef {object} IDemoServer
 * @property {string} host The host.
 * @property {number} port The port.
 * @property {string} user The user.
 * @property {string} password The password (empty when the URL names none).
 * @property {string} database The database named in the URL, or "" when it names none.
 * @property {boolean} own Whether the demo started it (and stops it).
 * @property {string[]} notes Lines to print about it.
 * @property {() => Promise<void>} stop Stop and remove an own server (no-op otherwise).
 * @property {() => void} stopSync The same, synchronously, for exit handlers.
 */

/**
 * The message when the binaries for an own server are missing.
 */
export const MISSING_BINARIES =
	"--store postgres without --url starts a throw-away PostgreSQL server, but the server binaries " +
	"(initdb, pg_ctl) were not found in $PG_BIN, /usr/lib/postgresql/*/bin or the PATH. Install them " +
	"with scripts/ensure-postgres.sh (Debian's postgresql package), set PG_BIN to their directory, " +
	"or pass --url postgres://user:password@host:port";

/**
 * The server named by the URL, or a throw-away one started now.
 * @param {URL | undefined} url The --url option.
 * @param {(line: string) => void} say Prints a line (progress of the start-up).
 * @returns {Promise<IDemoServer>} The server.
 * @throws Error with the reason when an own server cannot start.
 */
export async function demoServer(url, say) {
	if (url) {
		return {
			host: url.hostname.replace(/^\[|\]$/g, ""),
			port: url.port === "" ? 5432 : Number(url.port),
			user: decodeURIComponent(url.username),
			password: decodeURIComponent(url.password),
			database: decodeURIComponent(url.pathname.replace(/^\//, "")),
			own: false,
			notes: [],
			stop: async () => {},
			stopSync: () => {}
		};
	}
	const bin = findPostgresBin();
	if (!bin) {
		throw new Error(MISSING_BINARIES);
	}
	say(`No --url: starting a throw-away PostgreSQL server (binaries in ${bin})...`);
	// Room for every node's pool (the benchmark's setting).
	const server = await startPostgres({
		settings: { max_connections: "200" },
		reportedSettings: ["server_version"]
	});
	// Stopped by the caller at the end; this covers an exit on an error or a second Ctrl-C.
	process.once("exit", () => server.stopSync());
	// A Ctrl-C before the demo handles it itself: stop the server rather than leave it running.
	const onSigint = () => {
		if (process.listenerCount("SIGINT") === 1) {
			server.stopSync();
			process.exit(130);
		}
	};
	process.on("SIGINT", onSigint);
	// Ended from outside (kill, a timeout): stop the server too (the nodes follow their parent).
	const onSigterm = () => {
		server.stopSync();
		process.exit(143);
	};
	process.once("SIGTERM", onSigterm);
	return {
		host: server.host,
		port: server.port,
		user: server.user,
		password: "",
		database: server.database,
		own: true,
		notes: [
			`Throw-away PostgreSQL ${String(server.settings.server_version).split(" ")[0]} on ` +
				`${server.host}:${server.port} (data in ${server.dir}), removed when the demo ends.`
		],
		stop: async () => {
			process.off("SIGINT", onSigint);
			process.off("SIGTERM", onSigterm);
			await server.stop();
		},
		stopSync: () => server.stopSync()
	};
}
