// The README's usage, dead-letter, recurring tasks and abort examples, run exactly as written from
// a directory where the package and the examples' imports are installed (linked to this
// repository's build and node_modules).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { linkPackage, readmeBlock, REPO_ROOT } from "./helpers/readme.js";

const root = REPO_ROOT;
const dir = mkdtempSync(join(tmpdir(), "readme-example-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
	const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string };
	linkPackage(dir, pkg.name, root);
	linkPackage(
		dir,
		"@twin.org/entity-storage-connector-memory",
		join(root, "node_modules/@twin.org/entity-storage-connector-memory")
	);
	linkPackage(
		dir,
		"@twin.org/entity-storage-models",
		join(root, "node_modules/@twin.org/entity-storage-models")
	);
});

/**
 * Write README blocks into the example directory and run the last one with Node.
 * @param files The blocks' file names; the last one is run.
 * @returns What it printed.
 */
function runExample(...files: string[]): string {
	for (const file of files) {
		writeFileSync(join(dir, file), readmeBlock(file));
	}
	return execFileSync(process.execPath, [files[files.length - 1]], {
		cwd: dir,
		encoding: "utf8",
		timeout: 30000
	});
}

describe("README usage example", () => {
	test("runs as pasted and prints the handler's result", () => {
		expect(runExample("handlers.mjs", "main.mjs").trim()).toBe("true { doubled: 42 }");
	});
});

describe("README dead-letter example", () => {
	test("runs as pasted: the failed task is kept, retryFailed brings it back and it succeeds", () => {
		expect(runExample("dead-letter.mjs").trim().split("\n")).toEqual(["1", "1", "sent"]);
	});
});

describe("README recurring tasks example", () => {
	test("runs as pasted: both schedules listed, the periodic one runs three times", () => {
		expect(runExample("schedule.mjs").trim().split("\n")).toEqual(["nightly,tick", "tick"]);
	});
});

describe("README abort example", () => {
	test("runs as pasted: the running task is stopped, recorded cancelled with the reason, not retried", () => {
		writeFileSync(join(dir, "abortHandlers.mjs"), readmeBlock("abortHandlers.mjs"));
		writeFileSync(join(dir, "abortMain.mjs"), readmeBlock("abortMain.mjs"));

		const output = execFileSync(process.execPath, ["abortMain.mjs"], {
			cwd: dir,
			encoding: "utf8",
			timeout: 30000
		});

		expect(output.trim().split("\n")).toEqual([
			"cancelled AbortError the user closed the report",
			"cancelled 3"
		]);
	});
});
