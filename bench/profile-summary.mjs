// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Summarise a V8 CPU profile (from `node --cpu-prof`, or `node bench/run.mjs --prof`): self time
// by function and by package/area, so "where does the time go" has a number.
//   node bench/profile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (!file) {
	console.error("usage: node bench/profile-summary.mjs <file.cpuprofile> [top]");
	process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map(n => [n.id, n]));
const selfUs = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
	const id = profile.samples[i];
	selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/**
 * The area of a script URL: a package name, this package's source folder, node internals, or V8.
 * @param {string} url The URL.
 * @returns {string} The area.
 */
function area(url) {
	if (!url) {
		return "(v8/native)";
	}
	const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
	if (pkg) {
		return pkg[1];
	}
	if (url.startsWith("node:")) {
		return "(node internals)";
	}
	const own = /\/(dist\/esm|bench)\/(.*)$/.exec(url);
	return own ? `${own[1]}/${own[2].split("/")[0]}` : url;
}

const byFunction = new Map();
const byArea = new Map();
for (const [id, us] of selfUs) {
	const node = byId.get(id);
	const cf = node.callFrame;
	const name = `${cf.functionName || "(anonymous)"} ${cf.url ? `${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}` : ""}`;
	byFunction.set(name, (byFunction.get(name) ?? 0) + us);
	const a = area(cf.url);
	byArea.set(a, (byArea.get(a) ?? 0) + us);
}
const pct = us =>
	`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
console.log("\nself time by area:");
for (const [a, us] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 15)) {
	console.log(`  ${pct(us)}  ${a}`);
}
console.log(`\nself time by function (top ${top}):`);
for (const [f, us] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, top)) {
	console.log(`  ${pct(us)}  ${f}`);
}
