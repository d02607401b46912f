// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * Where a handler module specifier points, with the same rules for the worker that imports it
 * and for registerHandler, which checks that it exists. Plain JavaScript, like the handler runner
 * that imports it (see handlerWorker.mjs).
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve as resolveImport } from "import-meta-resolve";

/**
 * Locate a module: `file://` URLs as they are, paths relative to the working directory, and
 * package names resolved from the application's working directory, then from this package's own
 * location (as a plain import() from here would).
 * @param {string} specifier The module specifier.
 * @returns {{ url: string, found: boolean }} What to import, and whether it was found. `node:` and
 *   `data:` specifiers count as found; an unresolved package name comes back as itself.
 */
export function locateModule(specifier) {
	if (/^(node|data):/.test(specifier)) {
		return { url: specifier, found: true };
	}
	if (specifier.startsWith("file:")) {
		return { url: specifier, found: fileExists(specifier) };
	}
	if (isAbsolute(specifier) || specifier.startsWith("./") || specifier.startsWith("../")) {
		const url = pathToFileURL(resolvePath(process.cwd(), specifier)).href;
		return { url, found: fileExists(url) };
	}
	for (const parent of [pathToFileURL(`${process.cwd()}/`).href, import.meta.url]) {
		try {
			return { url: resolveImport(specifier, parent), found: true };
		} catch {
			// not resolvable from there
		}
	}
	return { url: specifier, found: false };
}

/**
 * Does a file URL point at an existing file.
 * @param {string} url The file URL.
 * @returns {boolean} True if it exists.
 */
function fileExists(url) {
	try {
		return existsSync(fileURLToPath(url));
	} catch {
		return false;
	}
}
