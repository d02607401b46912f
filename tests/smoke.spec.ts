import { describe, expect, test } from "vitest";
import { createConnector, HANDLERS, waitForStatus } from "./helpers/harness.js";

describe("smoke", () => {
	test.each(["worker", "inline"] as const)(
		"a created task runs to success in %s mode",
		async executionMode => {
			const { connector, start } = createConnector({ executionMode });
			await connector.registerHandler("echo", HANDLERS, "echo");
			await start();
			const id = await connector.create("echo", { a: 1 }, { retainFor: -1 });
			const task = await waitForStatus(connector, id, ["success"]);
			expect(task.result).toEqual({ payload: { a: 1 } });
		}
	);
});
