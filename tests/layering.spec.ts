// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The folders of src/ form layers that import one way (docs/design.md, "Layers"). This test reads
// every import of every source file and fails on one that runs up or sideways.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const SRC = resolve(import.meta.dirname, "../src");

/**
 * What each folder of src/ may import besides itself. "root" is the files directly in src/ (the
 * facade, the index and the schema registration), which wire everything together.
 */
const ALLOWED: { [layer: string]: string[] } = {
	domain: [],
	models: ["domain"],
	utils: ["domain", "models"],
	contracts: ["domain", "models", "utils"],
	config: ["domain", "models", "utils", "contracts"],
	telemetry: ["domain"],
	execution: ["domain", "models", "utils", "contracts", "config"],
	scheduling: ["domain", "models", "utils", "contracts", "config", "telemetry"],
	store: ["domain", "models", "utils", "contracts", "config"],
	"store/entityStorage": ["store", "domain", "models", "utils", "contracts", "config"],
	"store/postgresql": ["store", "domain", "models", "utils", "contracts", "config"],
	facade: [
		"domain",
		"models",
		"utils",
		"contracts",
		"config",
		"execution",
		"scheduling",
		"telemetry",
		"store",
		"store/entityStorage",
		"store/postgresql"
	],
	root: ["*"]
};

/**
 * Every source file under a folder.
 * @param dir The folder.
 * @returns Absolute paths.
 */
function sourceFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
		entry.isDirectory()
			? sourceFiles(join(dir, entry.name))
			: /\.(ts|mts|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith(".d.mts")
				? [join(dir, entry.name)]
				: []
	);
}

/**
 * The layer a file belongs to: its folder under src/, with the store's backends kept apart.
 * @param file An absolute path under src/.
 * @returns The layer name.
 */
function layerOf(file: string): string {
	const parts = relative(SRC, file).split("/");
	if (parts.length === 1) {
		return "root";
	}
	if (parts[0] === "store" && parts.length > 2) {
		return `store/${parts[1]}`;
	}
	return parts[0];
}

/**
 * The relative imports of a file (static, dynamic and require), resolved to absolute paths.
 * @param file An absolute path.
 * @returns The imported paths.
 */
function importsOf(file: string): string[] {
	const text = readFileSync(file, "utf8");
	const specifiers = [
		...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)
	].map(match => match[1]);
	return specifiers.map(specifier => resolve(dirname(file), specifier));
}

describe("layering", () => {
	const files = sourceFiles(SRC);

	test("every folder of src/ has a rule", () => {
		const unknown = [...new Set(files.map(layerOf))].filter(layer => !ALLOWED[layer]);
		expect(unknown).toEqual([]);
	});

	test("no import runs up or sideways", () => {
		const violations: string[] = [];
		for (const file of files) {
			const from = layerOf(file);
			for (const target of importsOf(file)) {
				const to = layerOf(target);
				const allowed = ALLOWED[from] ?? [];
				if (to !== from && !allowed.includes("*") && !allowed.includes(to)) {
					violations.push(
						`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`
					);
				}
			}
		}
		expect(violations).toEqual([]);
	});

	test("the check sees a violation", () => {
		// Guards the test itself: a domain file importing the scheduler must be reported.
		const from = layerOf(join(SRC, "domain/rules.ts"));
		const to = layerOf(join(SRC, "scheduling/scheduler.ts"));
		expect(ALLOWED[from].includes(to)).toBe(false);
		expect(importsOf(join(SRC, "index.ts")).length).toBeGreaterThan(0);
	});
});
