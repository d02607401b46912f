// Vitest global setup: build the package once per run, for the tests, which load the built output
// (their imports of src/ load dist/esm, see vitest.config.ts; package entry points, child
// processes), unless dist/ was built from the sources as they are (scripts/sourceHash.mjs: the
// build records the hash of its inputs; CI builds just before). Never skipped: a stale dist/ would
// test old code.
import { execFileSync } from "node:child_process";
import { distIsCurrent } from "../../scripts/sourceHash.mjs";

/**
 * Build dist/ before the tests run.
 */
export default function setup(): void {
	if (distIsCurrent(process.cwd())) {
		console.log("dist/ was built from the current sources: not rebuilt");
		return;
	}
	execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
