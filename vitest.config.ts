import { NameOfPlugin } from "@twin.org/nameof-vitest-plugin";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const SRC = fileURLToPath(new URL("./src/", import.meta.url));
const DIST = fileURLToPath(new URL("./dist/esm/", import.meta.url));

/**
 * The tests run the built package, what users run: an import of a source file (../src/x.js) loads
 * its build, dist/esm/x.js, which the global setup builds from the current sources first. Node
 * loads it natively, once per test file, where vite-node would transform and evaluate every source
 * module again in every file (docs/testing.md, "Wall times"). TEST_FROM_SRC=1 imports the sources
 * instead.
 * @returns The plugin.
 */
function builtSources(): Plugin {
	return {
		name: "built-sources",
		enforce: "pre",
		async resolveId(source, importer, options) {
			if (!importer || importer.startsWith(DIST) || !source.startsWith(".")) {
				return null;
			}
			const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
			if (!resolved?.id.startsWith(SRC)) {
				return null;
			}
			return DIST + resolved.id.slice(SRC.length).replace(/\.ts$/, ".js");
		}
	};
}

/**
 * Whether the tests import the sources rather than their build.
 */
const FROM_SRC = process.env.TEST_FROM_SRC === "1";

/**
 * The spec files that start child processes, side by side with the others: crash and shutdown
 * children, the built package run from plain Node, the DynamoDB (dynalite) and MariaDB servers,
 * and the multi-node files whose assertions hold however late a node is (gate files; a schedule
 * that catches up every slot).
 */
const MULTIPROCESS = [
	"tests/reliability/crash.spec.ts",
	"tests/reliability/faults.spec.ts",
	"tests/contract/dynamodb.spec.ts",
	"tests/contract/mysql.spec.ts",
	"tests/context.spec.ts",
	"tests/lifecycle.spec.ts",
	"tests/package.spec.ts",
	"tests/readme.spec.ts",
	"tests/workerPool.spec.ts",
	"tests/workerStartup.spec.ts",
	"tests/multinode/abort.spec.ts",
	"tests/multinode/schedule.spec.ts"
];

/**
 * The spec files that start the most node processes (several nodes each, the demo's nodes, the
 * benchmark's children) and bound their own durations: one at a time, in a lane of their own
 * beside the other files, so they never compete with one another for the two cores.
 */
const SERIAL = ["tests/multinode/*.spec.ts", "tests/demo.spec.ts", "tests/bench.spec.ts"];

/**
 * The unit files that check what a connector does by default on the main thread (its threadId is
 * "main" there, a worker's number in a worker thread): they run in processes of their own, the
 * other unit files in worker threads, which start in a third of the CPU time of a process.
 */
const MAIN_THREAD = [
	"tests/instances.spec.ts",
	"tests/operations.spec.ts",
	"tests/sharedStore.spec.ts",
	"tests/validation.spec.ts"
];

/**
 * The spec files on the shared PostgreSQL server (tests/setup/sharedPostgres.ts), a database each.
 */
const POSTGRESQL = [
	"tests/postgresql/*.spec.ts",
	"tests/contract/native.spec.ts",
	"tests/contract/postgres.spec.ts",
	"tests/entityStorageQueue.spec.ts"
];

/**
 * The in-process spec files that run whole scenarios rather than parts: the differential suite
 * against the original package, the contracts over in-process stores, property tests of whole
 * runs and the executors' end-to-end tests. No server or child process, but seconds each, so they
 * stay out of the unit project's quick loop.
 */
const INTEGRATION = [
	"tests/differential/*.spec.ts",
	"tests/contract/memory.spec.ts",
	"tests/contract/file.spec.ts",
	"tests/contract/strict.spec.ts",
	"tests/reliability/properties.spec.ts",
	"tests/execution.spec.ts",
	"tests/telemetry.spec.ts"
];

/**
 * A project: its files, each in a process of its own (some tests terminate workers or watch
 * process-level events), several at once ("forks"); each in a worker thread of its own, several
 * at once ("threads"); or one at a time in one worker thread, a pool of its own that runs beside
 * the processes ("serial").
 * @param name The project's name.
 * @param include Its files.
 * @param exclude Files it leaves to other projects.
 * @param lane How its files run.
 * @returns The project.
 */
function project(
	name: string,
	include: string[],
	exclude: string[] = [],
	lane: "forks" | "threads" | "serial" = "forks"
): TestProjectInlineConfiguration {
	return {
		plugins: FROM_SRC ? [NameOfPlugin] : [builtSources(), NameOfPlugin],
		test: {
			name,
			include,
			exclude,
			pool: lane === "forks" ? "forks" : "threads",
			poolOptions: { threads: { singleThread: lane === "serial" } },
			// The build is loaded by Node, not by vite-node (builtSources).
			server: { deps: { external: FROM_SRC ? [] : [/\/dist\/esm\//] } },
			testTimeout: 30000,
			hookTimeout: 60000
		}
	};
}

export default defineConfig({
	test: {
		// Build dist/ for the tests that load the built output, and start the shared PostgreSQL
		// server when the postgresql or multiprocess project runs.
		globalSetup: ["tests/setup/build.ts", "tests/setup/sharedPostgres.ts"],
		// Files run side by side: most of their time is spent waiting (timers, servers, children).
		maxWorkers: 3,
		minWorkers: 1,
		projects: [
			project(
				"unit",
				["tests/**/*.spec.ts"],
				[...MULTIPROCESS, ...SERIAL, ...POSTGRESQL, ...INTEGRATION, ...MAIN_THREAD],
				"threads"
			),
			project("unit-main", MAIN_THREAD),
			project("integration", INTEGRATION),
			project("postgresql", POSTGRESQL),
			project("multiprocess", MULTIPROCESS),
			project("multiprocess-serial", SERIAL, MULTIPROCESS, "serial")
		]
	}
});
