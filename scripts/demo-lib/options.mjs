// Command-line options of the demo (node:util parseArgs): parsing, validation and --help.
import { parseArgs } from "node:util";

/**
 * The exit code for a usage error.
 */
export const USAGE_EXIT_CODE = 2;

/**
 * The stores the demo can run on.
 */
export const STORES = ["memory", "file", "postgres"];

/**
 * Default task count on the file store: it rewrites its whole file on every write, so each task
 * costs more as the file grows (1,000 tasks take about 30 s on a 2-core machine, 300 a few seconds).
 */
export const FILE_STORE_TASKS = 300;

/**
 * The most node processes --nodes starts.
 */
export const MAX_NODES = 16;

/**
 * The help text.
 */
export const HELP = `Usage: npm start -- [options]
       node scripts/demo.mjs [options]

Runs a demonstration node: the background task connector over embedded entity storage, three
handler types (cpu: CPU-bound, flaky: fails at random and succeeds on retry, slow: waits, several
at once), live progress per type, and a summary table. Ctrl-C stops gracefully; with a durable
store the next run resumes the unfinished tasks.

With --store postgres --nodes <n>, runs n node processes on one table with the native PostgreSQL
backend (config.postgresql): the tasks are created across the nodes, each node reports its
progress, and the summary checks, from the table and from a log each handler execution writes,
that no task was lost and none ran twice.

Options:
  --tasks <n>              tasks to create, split across the three types
                           (default 2000; 300 with --store file, which slows down as it grows)
  --store <kind>           memory | file | postgres (default memory)
  --dir <path>             directory of the file store (default .tmp/demo-store)
  --url <url>              PostgreSQL server for --store postgres, postgres://user:password@host:port
                           (without it, the demo starts a throw-away server from the machine's
                           PostgreSQL binaries, as the tests do: scripts/ensure-postgres.sh
                           installs them)
  --table <name>           PostgreSQL table, created if missing (default background_task)
  --nodes <n>              with --store postgres: run n node processes (1 to ${MAX_NODES}) on the table
                           with the native PostgreSQL backend (config.postgresql)
  --slow-concurrency <n>   slow tasks that run at once (default 8; per node with --nodes)
  --workers <n>            worker threads (default: the types' concurrency added up; per node
                           with --nodes)
  --fail-rate <r>          chance that a flaky attempt fails, 0 to 0.9 (default 0.3)
  -h, --help               show this help

Examples:
  npm start
  npm start -- --tasks 500 --store file --dir .tmp/demo-store     (Ctrl-C, then run it again)
  npm start -- --store postgres --url postgres://postgres:secret@127.0.0.1:5432
  npm start -- --store postgres --nodes 3                (own throw-away server)
`;

/**
 * A usage error: printed with a pointer to --help, exit code 2.
 */
export class UsageError extends Error {}

/**
 * Parse an integer option.
 * @param {string} name The option.
 * @param {string | undefined} value The raw value.
 * @param {number} fallback The default.
 * @param {number} min The minimum.
 * @returns {number} The value.
 */
function integer(name, value, fallback, min) {
	if (value === undefined) {
		return fallback;
	}
	if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
		throw new UsageError(`--${name} must be a whole number of at least ${min}, got '${value}'`);
	}
	return Number(value);
}

/**
 * Parse and validate the command line.
 * @param {string[]} argv The arguments after the script name.
 * @returns {{ help: true } | { help: false, tasks: number, store: string, dir: string, url?: URL,
 *   table: string, nodes?: number, slowConcurrency: number, workers?: number, failRate: number }}
 *   The options (url undefined with --store postgres: the demo starts its own server).
 * @throws {UsageError} When an option is unknown or invalid.
 */
export function parseOptions(argv) {
	let values;
	try {
		({ values } = parseArgs({
			args: argv,
			strict: true,
			allowPositionals: false,
			options: {
				tasks: { type: "string" },
				store: { type: "string" },
				dir: { type: "string" },
				url: { type: "string" },
				table: { type: "string" },
				nodes: { type: "string" },
				"slow-concurrency": { type: "string" },
				workers: { type: "string" },
				"fail-rate": { type: "string" },
				help: { type: "boolean", short: "h" }
			}
		}));
	} catch (err) {
		// parseArgs explains unknown options, missing values and stray arguments.
		throw new UsageError(err instanceof Error ? err.message : String(err));
	}
	if (values.help) {
		return { help: true };
	}

	const store = values.store ?? "memory";
	if (!STORES.includes(store)) {
		throw new UsageError(`--store must be one of ${STORES.join(", ")}, got '${store}'`);
	}
	if (values.dir !== undefined && store !== "file") {
		throw new UsageError("--dir only applies to --store file");
	}
	if ((values.url !== undefined || values.table !== undefined) && store !== "postgres") {
		throw new UsageError("--url and --table only apply to --store postgres");
	}
	if (values.nodes !== undefined && store !== "postgres") {
		throw new UsageError(
			"--nodes only applies to --store postgres (node processes on one table, native backend)"
		);
	}
	let nodes;
	if (values.nodes !== undefined) {
		nodes = Number(values.nodes);
		if (!/^\d+$/.test(values.nodes) || nodes < 1 || nodes > MAX_NODES) {
			throw new UsageError(
				`--nodes must be a whole number from 1 to ${MAX_NODES}, got '${values.nodes}'`
			);
		}
	}
	let url;
	if (store === "postgres" && values.url !== undefined) {
		try {
			url = new URL(values.url);
		} catch {
			throw new UsageError(`--url is not a URL: '${values.url}'`);
		}
		if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
			throw new UsageError(
				`--url must start with postgres:// or postgresql://, got '${values.url}'`
			);
		}
		if (url.username === "" || url.hostname === "") {
			throw new UsageError("--url must name a user and a host: postgres://user:password@host:port");
		}
	}
	const table = values.table ?? "background_task";
	if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
		// The connector quotes the table name in queries but not when creating it, so only a lower-case
		// plain name means the same table to both.
		throw new UsageError(`--table must be a lower-case SQL name (a-z, 0-9, _), got '${table}'`);
	}
	let failRate = 0.3;
	if (values["fail-rate"] !== undefined) {
		failRate = Number(values["fail-rate"]);
		if (
			values["fail-rate"].trim() === "" ||
			!Number.isFinite(failRate) ||
			failRate < 0 ||
			failRate > 0.9
		) {
			throw new UsageError(
				`--fail-rate must be a number from 0 to 0.9, got '${values["fail-rate"]}'`
			);
		}
	}
	return {
		help: false,
		tasks: integer("tasks", values.tasks, store === "file" ? FILE_STORE_TASKS : 2000, 1),
		store,
		dir: values.dir ?? ".tmp/demo-store",
		url,
		table,
		nodes,
		slowConcurrency: integer("slow-concurrency", values["slow-concurrency"], 8, 1),
		workers: values.workers === undefined ? undefined : integer("workers", values.workers, 1, 1),
		failRate
	};
}
