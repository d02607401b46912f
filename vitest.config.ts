import { NameOfPlugin } from "@twin.org/nameof-vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
	plugins: [NameOfPlugin],
	test: {
		include: ["tests/**/*.spec.ts"],
		// Build dist/ for the tests that load the built output; start the shared PostgreSQL server.
		globalSetup: ["tests/setup/build.ts", "tests/setup/sharedPostgres.ts"],
		// Separate processes: some tests spawn children, terminate workers or watch process-level events.
		pool: "forks",
		testTimeout: 30000,
		hookTimeout: 60000
	}
});
