// Vitest global setup: build the package once per run, for the tests that load the built output
// (package entry points, child processes).
import { execFileSync } from "node:child_process";

/**
 * Build dist/ before the tests run.
 */
export default function setup(): void {
	if (process.env.TEST_SKIP_BUILD === "1") {
		// Unit tests during development, while dist/ is built separately.
		return;
	}
	execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
