// Vitest global setup: build the package once per run, for the tests that load the built output
// (package entry points, child processes), unless dist/ was built from the sources as they are
// (scripts/sourceHash.mjs: the build records the hash of its inputs; CI builds just before).
import { execFileSync } from "node:child_process";
import { distIsCurrent } from "../../scripts/sourceHash.mjs";

/**
 * Build dist/ before the tests run.
 */
export default function setup(): void {
	if (process.env.TEST_SKIP_BUILD === "1") {
		// Unit tests during development, while dist/ is built separately.
		return;
	}
	if (distIsCurrent(process.cwd())) {
		console.log("dist/ was built from the current sources: not rebuilt");
		return;
	}
	execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
