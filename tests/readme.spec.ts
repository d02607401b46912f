// The README's usage, dead-letter and abort examples, run exactly as written from a directory
// where the package and the examples' imports are installed (linked to this repository's build
// and node_modules).
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

describe("README usage example", () => {
	test("runs as pasted and prints the handler's result", () => {
		writeFileSync(join(dir, "handlers.mjs"), readmeBlock("handlers.mjs"));
		writeFileSync(join(dir, "main.mjs"), readmeBlock("main.mjs"));

		const output = execFileSync(process.execPath, ["main.mjs"], {
			cwd: dir,
			encoding: "utf8",
			timeout: 30000
		});

		expect(output.trim()).toBe("true { doubled: 42 }");
	});
});

describe("README dead-letter example", () => {
	test("runs as pasted: the failed task is kept, retryFailed brings it back and it succeeds", () => {
		writeFileSync(join(dir, "dead-letter.mjs"), readmeBlock("dead-letter.mjs"));

		const output = execFileSync(process.execPath, ["dead-letter.mjs"], {
			cwd: dir,
			encoding: "utf8",
			timeout: 30000
		});

		expect(output.trim().split("\n")).toEqual(["1", "1", "sent"]);
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
