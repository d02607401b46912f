// OpenTelemetry (issue 22, item 7) costs nothing on a node without a provider: creating and
// running tasks, inline and in a worker, never even loads @opentelemetry/api, on the node's thread
// or in the handler's (installed here as a devDependency, so only the connector's check keeps it
// out). Its own file, so that no other test
// has loaded the API into this process.
import { createRequire } from "node:module";
import { describe, expect, test } from "vitest";
import { createConnector, waitForStatus } from "./helpers/harness.js";

const HANDLER = new URL("./fixtures/api-loaded-handler.mjs", import.meta.url).href;

/**
 * Whether this process has loaded @opentelemetry/api: it is CommonJS, so any load of it, by
 * import() or require(), puts it in the CommonJS module cache.
 * @returns Whether it is loaded.
 */
function apiLoaded(): boolean {
	return Object.keys(createRequire(import.meta.url).cache).some(path =>
		path.includes("/@opentelemetry/api/")
	);
}

describe("without an OpenTelemetry provider", () => {
	test.each(["inline", "worker"] as const)(
		"%s: create, createMany and runs never load the API, in either thread",
		async executionMode => {
			expect(apiLoaded()).toBe(false);
			const { connector, start } = createConnector({ executionMode, maxWorkers: 1 });
			await connector.registerHandler("plain", HANDLER, "apiLoaded");
			await start();
			const ids = [
				await connector.create("plain", { a: 1 }, { retainFor: -1 }),
				...(await connector.createMany("plain", [{ b: 2 }], { retainFor: -1 }))
			];
			for (const id of ids) {
				const task = await waitForStatus(connector, id, ["success"]);
				expect(task.result).toEqual({ apiLoaded: false });
			}
			expect(apiLoaded()).toBe(false);
		}
	);
});
