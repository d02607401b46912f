// Builds the package: ES modules and declarations with tsc (ts-patch applies the nameof
// transformer), then CommonJS from the ES output with esbuild, keeping the file layout so the
// plain JavaScript files shared by both builds (the handler runner and module locator, .mjs, and
// the pool's worker entry, handlerWorker.cjs) sit at the same relative path.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { BUILD_STAMP, sourceHash } from "./sourceHash.mjs";
import { dirname, join, relative } from "node:path";
import { transformSync } from "esbuild";
import { readFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
// Build into a fresh directory and swap it in at the end, so a test run reading dist/ never sees
// a half-built tree.
const finalDist = join(root, "dist");
const dist = join(root, `.dist-build-${process.pid}`);
rmSync(dist, { recursive: true, force: true });

execFileSync(
	join(root, "node_modules/.bin/tsc"),
	[
		"-p",
		join(root, "tsconfig.json"),
		"--outDir",
		join(dist, "esm"),
		"--declarationDir",
		join(dist, "types")
	],
	{ stdio: "inherit" }
);

const esm = join(dist, "esm");
const cjs = join(dist, "cjs");
writeFileSync(join(esm, "package.json"), '{ "type": "module" }\n');
mkdirSync(cjs, { recursive: true });
writeFileSync(join(cjs, "package.json"), '{ "type": "commonjs" }\n');

/**
 * Every file under a directory.
 * @param dir The directory.
 * @returns The paths.
 */
function files(dir) {
	return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
		e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]
	);
}

for (const file of files(join(root, "src"))) {
	if (file.endsWith(".mjs") || file.endsWith(".cjs")) {
		const rel = relative(join(root, "src"), file);
		for (const out of [esm, cjs]) {
			mkdirSync(dirname(join(out, rel)), { recursive: true });
			cpSync(file, join(out, rel));
		}
	}
}

for (const file of files(esm)) {
	if (!file.endsWith(".js")) {
		continue;
	}
	const { code } = transformSync(readFileSync(file, "utf8"), {
		format: "cjs",
		platform: "node",
		target: "node20",
		define: { "import.meta.url": "__importMetaUrl" },
		banner: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;'
	});
	const out = join(cjs, relative(esm, file));
	mkdirSync(dirname(out), { recursive: true });
	writeFileSync(out, code);
}
const old = join(root, `.dist-old-${process.pid}`);
try {
	renameSync(finalDist, old);
} catch {
	// no previous build
}
renameSync(dist, finalDist);
rmSync(old, { recursive: true, force: true });
// What dist/ was built from, so the test run's global setup can tell whether it is current.
mkdirSync(dirname(join(root, BUILD_STAMP)), { recursive: true });
writeFileSync(join(root, BUILD_STAMP), `${sourceHash(root)}\n`);
console.log("Built dist/esm, dist/cjs and dist/types");
