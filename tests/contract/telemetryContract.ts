// OpenTelemetry (issue 22, item 7) through the public API, on any backend: queueContract() calls
// telemetryContract(), so every backend's contract spec runs it, in the execution mode it runs the
// queue features in. The trace context must survive the backend's write and read (its column, or
// the entity property), and be absent where no provider is registered.
import { TaskStatus } from "@twin.org/background-task-models";
import { describe, expect, test } from "vitest";
import type { ITaskSource } from "../../src/contracts/ITaskSource.js";
import type { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { registerOtel, taskSpans } from "../helpers/otel.js";
import { storageIdOf } from "../helpers/tasks.js";
import { CONTRACT_HANDLERS, type FreshConnector } from "./storageContract.js";

/**
 * The connector's task source, which reads the task as the backend stored it.
 * @param connector The connector.
 * @returns The source.
 */
function sourceOf(connector: EntityStorageBackgroundTaskConnector): ITaskSource {
	return (connector as unknown as { _source: ITaskSource })._source;
}

/**
 * Define the OpenTelemetry tests for a backend, inside queueContract().
 * @param name The backend name, for the test titles.
 * @param fresh A connector over a fresh storage of the backend, with extra config.
 * @param scratchFile A new file path in the contract's scratch directory.
 */
export function telemetryContract(
	name: string,
	fresh: FreshConnector,
	scratchFile: (label: string) => string
): void {
	describe(`OpenTelemetry: ${name}`, () => {
		test("the span active at create is stored as the task's trace context and parents each attempt's span", async () => {
			const otel = registerOtel();
			const { connector, start } = await fresh();
			await connector.registerHandler("otel-flaky", CONTRACT_HANDLERS, "failTimes");
			await start();
			let parent: { traceId: string; spanId: string } | undefined;
			const urn = await otel.tracer.startActiveSpan("create", async span => {
				parent = span.spanContext();
				try {
					return await connector.create(
						"otel-flaky",
						{ counter: scratchFile("otel-counter"), failures: 1 },
						{ retainFor: -1, retryCount: 1, retryInterval: 1 }
					);
				} finally {
					span.end();
				}
			});
			const id = storageIdOf(urn);
			await waitForStatus(connector, urn, [TaskStatus.Success]);
			expect((await sourceOf(connector).get(id))?.traceContext).toEqual({
				traceparent: `00-${parent?.traceId}-${parent?.spanId}-01`
			});
			const spans = await waitFor(() => {
				const found = taskSpans(otel.spans()).filter(
					s => s.attributes["messaging.message.id"] === id
				);
				return found.length === 2 ? found : undefined;
			});
			expect(spans.map(s => s.attributes["background_task.outcome"])).toEqual(["retry", "success"]);
			for (const span of spans) {
				expect(span.spanContext().traceId).toBe(parent?.traceId);
				expect(span.parentSpanContext?.spanId).toBe(parent?.spanId);
			}
		});

		test("without a registered provider no trace context is stored", async () => {
			const { connector, start } = await fresh();
			await connector.registerHandler("otel-plain", CONTRACT_HANDLERS, "echo");
			await start();
			const urn = await connector.create("otel-plain", { a: 1 }, { retainFor: -1 });
			await waitForStatus(connector, urn, [TaskStatus.Success]);
			const stored = await sourceOf(connector).get(storageIdOf(urn));
			expect(stored).toBeDefined();
			expect(Object.keys(stored ?? {})).not.toContain("traceContext");
		});
	});
}
