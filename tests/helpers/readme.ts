// The README's examples for the tests that run them as written: the code blocks, and a directory
// where the package and the examples' imports are installed (links to this repository's build and
// node_modules).
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository's root.
 */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The first js code block after the README line naming the file.
 * @param file The file name as the README introduces it (`name`:).
 * @returns The code.
 */
export function readmeBlock(file: string): string {
	const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
	const match = new RegExp(
		`\`${file.replace(".", "\\.")}\`:\\s*\\n\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``
	).exec(readme);
	if (!match) {
		throw new Error(`README has no js block for ${file}`);
	}
	return match[1];
}

/**
 * Link a package into a directory's node_modules.
 * @param dir The directory.
 * @param name The package name.
 * @param target Where it lives.
 */
export function linkPackage(dir: string, name: string, target: string): void {
	const path = join(dir, "node_modules", name);
	mkdirSync(dirname(path), { recursive: true });
	symlinkSync(target, path, "dir");
}
