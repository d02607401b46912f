// The built package as a user's application sees it: a temporary directory whose node_modules links
// the package by name, plain Node scripts that import (ESM) and require (CommonJS) it, and a
// TypeScript consumer type-checked against the published declarations. dist/ is built by the
// vitest globalSetup (tests/setup/build.ts).
import { execFileSync } from "node:child_process";
import {
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	realpathSync,
	rmSync,
	symlinkSync,
	writeFileSync
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGE_NAME = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).name as string;

/**
 * The value exports: SPEC section 1 names plus ExecutionMode and ClusteredTaskScheduler (issue 22,
 * item 2) (the interfaces are types only).
 */
const VALUE_EXPORTS = [
	"BackgroundTask",
	"ClusteredTaskScheduler",
	"EntityStorageBackgroundTaskConnector",
	"ExecutionMode",
	"RetryBackoff",
	"getTaskContext",
	"initSchema"
];

/**
 * What each consumer script prints.
 */
interface IReport {
	resolved: string;
	keys: string[];
	namespace: string;
	className: string;
	initSchema: string;
	backgroundTask: string;
	executionMode: { [key: string]: string };
	created: string;
	task: { id: string; type: string; status: string; payload: unknown };
	queried: number;
}

/**
 * The body both scripts share, given the loaded package and storage modules.
 * @returns Source text (an async function body using pkg, memory, models and resolved).
 */
function scriptBody(): string {
	return `
	const { EntityStorageBackgroundTaskConnector, initSchema, BackgroundTask, ExecutionMode } = pkg;
	initSchema();
	models.EntityStorageConnectorFactory.register(
		"background-task",
		() => new memory.MemoryEntityStorageConnector({ entitySchema: "BackgroundTask" })
	);
	const connector = new EntityStorageBackgroundTaskConnector();
	const id = await connector.create("package-check", { hello: "world" }, { retainFor: -1 });
	const task = await connector.get(id);
	const queried = (await connector.query("package-check")).entities.length;
	console.log(JSON.stringify({
		resolved,
		keys: Object.keys(pkg).sort(),
		namespace: EntityStorageBackgroundTaskConnector.NAMESPACE,
		className: connector.CLASS_NAME,
		initSchema: typeof initSchema,
		backgroundTask: typeof BackgroundTask,
		executionMode: ExecutionMode,
		created: id,
		task: { id: task.id, type: task.type, status: task.status, payload: task.payload },
		queried
	}));`;
}

let dir: string;

beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), "bt-package-"));
	const scope = join(dir, "node_modules", ...PACKAGE_NAME.split("/").slice(0, -1));
	mkdirSync(scope, { recursive: true });
	symlinkSync(ROOT, join(dir, "node_modules", PACKAGE_NAME), "dir");
	// The consumer's own dependencies (storage connector, models) come from the repository's.
	symlinkSync(
		join(ROOT, "node_modules", "@twin.org"),
		join(dir, "node_modules", "@twin.org"),
		"dir"
	);

	writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
	writeFileSync(
		join(dir, "consumer.mjs"),
		`import * as pkg from "${PACKAGE_NAME}";
import * as memory from "@twin.org/entity-storage-connector-memory";
import * as models from "@twin.org/entity-storage-models";
import { fileURLToPath } from "node:url";
const resolved = fileURLToPath(import.meta.resolve("${PACKAGE_NAME}"));
${scriptBody()}
`
	);
	writeFileSync(
		join(dir, "consumer.cjs"),
		`const pkg = require("${PACKAGE_NAME}");
const memory = require("@twin.org/entity-storage-connector-memory");
const models = require("@twin.org/entity-storage-models");
const resolved = require.resolve("${PACKAGE_NAME}");
(async () => {${scriptBody()}
})().catch(err => { console.error(err); process.exit(1); });
`
	);
});

afterAll(() => {
	if (dir) {
		rmSync(dir, { recursive: true, force: true });
	}
});

/**
 * Run a consumer script with plain Node from the temporary directory.
 * @param script The file name.
 * @returns Its report.
 */
function run(script: string): IReport {
	const out = execFileSync(process.execPath, [script], {
		cwd: dir,
		encoding: "utf8",
		timeout: 30_000,
		env: { ...process.env, NODE_OPTIONS: "" }
	});
	return JSON.parse(out.trim().split("\n").pop() as string) as IReport;
}

describe("the built package, loaded by name from plain Node", () => {
	test.each([
		["import (ES module)", "consumer.mjs", join("dist", "esm", "index.js")],
		["require (CommonJS)", "consumer.cjs", join("dist", "cjs", "index.js")]
	])("%s works and exposes the drop-in surface", (_, script, entry) => {
		const report = run(script);
		// Node resolves the link to the package's real location.
		expect(report.resolved).toBe(join(realpathSync(ROOT), entry));
		expect(existsSync(join(ROOT, entry))).toBe(true);
		expect(report.keys).toEqual(VALUE_EXPORTS);
		expect(report.namespace).toBe("entity-storage");
		expect(report.className).toBe("EntityStorageBackgroundTaskConnector");
		expect(report.initSchema).toBe("function");
		expect(report.backgroundTask).toBe("function");
		expect(report.executionMode).toEqual({ Worker: "worker", Inline: "inline" });
		// create returns the URN; get gives the plain storage id, as the original.
		expect(report.created).toMatch(/^background-task:entity-storage:[\da-f]{32}$/);
		expect(report.task).toEqual({
			id: report.created.slice("background-task:entity-storage:".length),
			type: "package-check",
			status: "pending",
			payload: { hello: "world" }
		});
		expect(report.queried).toBe(1);
	});

	test("the type declarations export the SPEC names and the class implements IBackgroundTaskConnector", () => {
		const check = join(dir, "types-check");
		mkdirSync(check, { recursive: true });
		writeFileSync(join(check, "package.json"), JSON.stringify({ type: "module" }));
		writeFileSync(
			join(check, "tsconfig.json"),
			JSON.stringify({
				compilerOptions: {
					// As TWIN projects do: the @twin.org/* declarations use extensionless relative
					// imports, which nodenext resolution cannot follow.
					module: "esnext",
					moduleResolution: "bundler",
					target: "es2022",
					strict: true,
					noEmit: true,
					skipLibCheck: true,
					types: []
				},
				files: ["check.ts"]
			})
		);
		writeFileSync(
			join(check, "check.ts"),
			`import type { IBackgroundTaskConnector } from "@twin.org/background-task-models";
import {
	BackgroundTask,
	EntityStorageBackgroundTaskConnector,
	ExecutionMode,
	initSchema,
	type IEntityStorageBackgroundTaskConnectorConfig,
	type IEntityStorageBackgroundTaskConnectorConstructorOptions
} from "${PACKAGE_NAME}";
import { getTaskContext, type ITaskContext } from "${PACKAGE_NAME}/context";

const config: IEntityStorageBackgroundTaskConnectorConfig = {
	concurrency: 2,
	executionMode: ExecutionMode.Inline
};
const options: IEntityStorageBackgroundTaskConnectorConstructorOptions = {
	backgroundTaskEntityStorageType: "background-task",
	config
};
initSchema();
export const connector: IBackgroundTaskConnector = new EntityStorageBackgroundTaskConnector(options);
export const namespace: string = EntityStorageBackgroundTaskConnector.NAMESPACE;
export const entity: BackgroundTask = new BackgroundTask();
export const context: ITaskContext | undefined = getTaskContext();
`
		);
		// The consumer project lives outside the repository; its node_modules link resolves both
		// the package and @twin.org/*.
		mkdirSync(join(check, "node_modules"), { recursive: true });
		symlinkSync(
			join(dir, "node_modules", "@twin.org"),
			join(check, "node_modules", "@twin.org"),
			"dir"
		);
		mkdirSync(join(check, "node_modules", ...PACKAGE_NAME.split("/").slice(0, -1)), {
			recursive: true
		});
		symlinkSync(ROOT, join(check, "node_modules", PACKAGE_NAME), "dir");

		let output = "";
		try {
			output = execFileSync(
				process.execPath,
				[join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", check],
				{ cwd: check, encoding: "utf8", timeout: 60_000 }
			);
		} catch (err) {
			const e = err as { stdout?: string; stderr?: string };
			throw new Error(`tsc failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
		}
		expect(output).toBe("");
	});

	test.each([
		["import (ES module)", "context.mjs", "import", join("dist", "esm", "context.js")],
		["require (CommonJS)", "context.cjs", "require", join("dist", "cjs", "context.js")]
	])(
		"the ./context entry by %s gives getTaskContext and loads nothing of the connector",
		(_, script, how, entry) => {
			// The files of the package a script loaded: require's cache for CommonJS; for an ES
			// module, the relative imports of the entry followed from the files themselves.
			const body =
				how === "require"
					? `const { getTaskContext } = require("${PACKAGE_NAME}/context");
const loaded = Object.keys(require.cache);
const resolved = require.resolve("${PACKAGE_NAME}/context");`
					: `import { getTaskContext } from "${PACKAGE_NAME}/context";
import { fileURLToPath } from "node:url";
const resolved = fileURLToPath(import.meta.resolve("${PACKAGE_NAME}/context"));
const loaded = [];`;
			writeFileSync(
				join(dir, script),
				`${body}
console.log(JSON.stringify({ resolved, loaded, type: typeof getTaskContext, outside: getTaskContext() ?? null }));
`
			);
			const out = execFileSync(process.execPath, [script], {
				cwd: dir,
				encoding: "utf8",
				timeout: 30_000,
				env: { ...process.env, NODE_OPTIONS: "" }
			});
			const report = JSON.parse(out.trim().split("\n").pop() as string) as {
				resolved: string;
				loaded: string[];
				type: string;
				outside: unknown;
			};
			const real = realpathSync(ROOT);
			expect(report.resolved).toBe(join(real, entry));
			expect(report.type).toBe("function");
			// Outside a handler there is no context.
			expect(report.outside).toBeNull();
			const base = join(real, entry, "..");
			const files =
				how === "require"
					? report.loaded.filter(file => file !== join(dir, script)).sort()
					: relativeImports(join(real, entry)).sort();
			expect(files).toEqual([join(base, "context.js"), join(base, "utils", "taskContext.js")]);
		}
	);
});

/**
 * A built ES module and every file it imports by a relative path, followed recursively; fails on
 * an import of a package (node: built-ins aside), which the light entry must not make.
 * @param file The module's path.
 * @param seen The files found so far.
 * @returns The paths.
 */
function relativeImports(file: string, seen = new Set<string>()): string[] {
	seen.add(file);
	const text = readFileSync(file, "utf8");
	for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
		const spec = match[1];
		if (spec.startsWith("node:")) {
			continue;
		}
		expect(spec.startsWith("."), `${file} imports ${spec}`).toBe(true);
		const next = join(file, "..", spec);
		if (!seen.has(next)) {
			relativeImports(next, seen);
		}
	}
	return [...seen];
}
