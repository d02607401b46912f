// The README's usage and dead-letter examples, run exactly as written from a directory where the
// package and the examples' imports are installed (linked to this repository's build and
// node_modules).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "readme-example-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The first js code block after the line naming the file.
 * @param file The file name as the README introduces it (`name`:).
 * @returns The code.
 */
function block(file: string): string {
	const match = new RegExp(
		`\`${file.replace(".", "\\.")}\`:\\s*\\n\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``
	).exec(readme);
	if (!match) {
		throw new Error(`README has no js block for ${file}`);
	}
	return match[1];
}

/**
 * Link a package into the example's node_modules.
 * @param name The package name.
 * @param target Where it lives.
 */
function link(name: string, target: string): void {
	const path = join(dir, "node_modules", name);
	mkdirSync(dirname(path), { recursive: true });
	symlinkSync(target, path, "dir");
}

beforeAll(() => {
	const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string };
	link(pkg.name, root);
	link(
		"@twin.org/entity-storage-connector-memory",
		join(root, "node_modules/@twin.org/entity-storage-connector-memory")
	);
	link(
		"@twin.org/entity-storage-models",
		join(root, "node_modules/@twin.org/entity-storage-models")
	);
});

describe("README usage example", () => {
	test("runs as pasted and prints the handler's result", () => {
		writeFileSync(join(dir, "handlers.mjs"), block("handlers.mjs"));
		writeFileSync(join(dir, "main.mjs"), block("main.mjs"));

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
		writeFileSync(join(dir, "dead-letter.mjs"), block("dead-letter.mjs"));

		const output = execFileSync(process.execPath, ["dead-letter.mjs"], {
			cwd: dir,
			encoding: "utf8",
			timeout: 30000
		});

		expect(output.trim().split("\n")).toEqual(["1", "1", "sent"]);
	});
});
