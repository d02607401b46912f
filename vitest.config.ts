import { NameOfPlugin } from "@twin.org/nameof-vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
	plugins: [NameOfPlugin],
	test: {
		include: ["tests/**/*.spec.ts"],
		globalSetup: ["tests/setup/build.ts"],
		// Separate processes: some tests spawn children, terminate workers or watch process-level events.
		pool: "forks",
		testTimeout: 30000,
		hookTimeout: 60000
	}
});
