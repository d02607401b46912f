// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The hash of what dist/ is built from, recorded by scripts/build.mjs and compared by the tests'
// global setup (tests/setup/build.ts), which rebuilds only when it differs.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Where the build records the hash of its inputs, relative to the package root.
 */
export const BUILD_STAMP = ".tmp/dist-source.sha256";

/**
 * The outputs a build always makes: without them dist/ is not current, whatever the stamp says.
 */
const OUTPUTS = ["dist/esm/index.js", "dist/cjs/index.js", "dist/types/index.d.ts"];

/**
 * Every file under a directory, sorted.
 * @param {string} dir The directory.
 * @returns {string[]} The paths.
 */
function files(dir) {
	return readdirSync(dir, { withFileTypes: true })
		.flatMap(e => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
		.sort();
}

/**
 * The hash of the build's inputs: the sources, the compiler settings, the build script and the
 * locked dependencies, each file by its path and content.
 * @param {string} root The package root.
 * @returns {string} The hex digest.
 */
export function sourceHash(root) {
	const hash = createHash("sha256");
	const inputs = [
		...files(join(root, "src")),
		...["tsconfig.json", "package-lock.json", "scripts/build.mjs", "scripts/sourceHash.mjs"].map(
			f => join(root, f)
		)
	];
	for (const file of inputs) {
		hash.update(relative(root, file));
		hash.update("\0");
		hash.update(readFileSync(file));
		hash.update("\0");
	}
	return hash.digest("hex");
}

/**
 * Whether dist/ was built from the sources as they are now.
 * @param {string} root The package root.
 * @returns {boolean} True when current.
 */
export function distIsCurrent(root) {
	const stamp = join(root, BUILD_STAMP);
	if (!existsSync(stamp) || OUTPUTS.some(f => !existsSync(join(root, f)))) {
		return false;
	}
	return readFileSync(stamp, "utf8").trim() === sourceHash(root);
}
