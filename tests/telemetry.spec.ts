// OpenTelemetry (issue 22, item 7) over in-memory storage: a span per attempt, parented on the
// span active at create, in inline and worker mode; the handler's view of it; the metrics; and a
// node with no provider storing and running tasks exactly as before.
import {
	SpanKind,
	SpanStatusCode,
	TraceFlags,
	context,
	createTraceState,
	propagation,
	trace
} from "@opentelemetry/api";
import {
	CompositePropagator,
	W3CBaggagePropagator,
	W3CTraceContextPropagator
} from "@opentelemetry/core";
import type { Histogram } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, test } from "vitest";
import { ENTITY_COLUMNS, FIRST_VERSION } from "../src/store/postgresql/sql/columns.js";
import { createConnector, waitFor, waitForStatus } from "./helpers/harness.js";
import { pointOf, registerOtel, taskSpans, type IOtelUnderTest } from "./helpers/otel.js";
import { storageIdOf } from "./helpers/tasks.js";

/**
 * The original entity's properties (the task table's columns of its first version), sorted.
 */
const ORIGINAL_KEYS = ENTITY_COLUMNS.filter(c => c.since === FIRST_VERSION)
	.map(c => c.name)
	.sort();

const OTEL_HANDLERS = new URL("./fixtures/otel-handlers.mjs", import.meta.url).href;

/**
 * What the traced fixture reports.
 */
interface ITracedResult {
	mainThread: boolean;
	activeTraceId?: string;
	activeSpanId?: string;
	innerTraceId: string;
	innerParentSpanId?: string;
	traceContext: { traceparent: string; tracestate?: string } | null;
}

/**
 * A started connector with the fixture's handlers registered.
 * @param executionMode Where handlers run.
 * @returns The connector and its storage.
 */
async function started(
	executionMode: "inline" | "worker"
): Promise<ReturnType<typeof createConnector>> {
	const made = createConnector({ executionMode, maxWorkers: 1 });
	await made.connector.registerHandler("traced", OTEL_HANDLERS, "traced");
	await made.connector.registerHandler("fails", OTEL_HANDLERS, "fails");
	await made.start();
	return made;
}

/**
 * Create a task inside a span of the test's tracer.
 * @param otel The registered providers.
 * @param create The create call.
 * @returns The task's id and the create span.
 */
async function createUnderSpan(
	otel: IOtelUnderTest,
	create: () => Promise<string>
): Promise<{ id: string; parent: ReadableSpan }> {
	const id = await otel.tracer.startActiveSpan("create", async span => {
		try {
			return await create();
		} finally {
			span.end();
		}
	});
	const parent = otel.spans().find(span => span.name === "create");
	expect(parent).toBeDefined();
	return { id, parent: parent as ReadableSpan };
}

/**
 * The package's attempt spans of a task, once there are this many.
 * @param otel The registered providers.
 * @param id The task's storage id.
 * @param count How many.
 * @returns The spans, oldest first.
 */
async function attemptSpans(otel: IOtelUnderTest, id: string, count = 1): Promise<ReadableSpan[]> {
	return waitFor(() => {
		const spans = taskSpans(otel.spans()).filter(
			span => span.attributes["messaging.message.id"] === id
		);
		return spans.length >= count ? spans : undefined;
	});
}

describe.each(["inline", "worker"] as const)("OpenTelemetry, %s mode", mode => {
	test("an attempt's span is a consumer span named for the type, child of the span active at create, with the task's attributes; the handler runs under it", async () => {
		const otel = registerOtel();
		const { connector, storage } = await started(mode);
		const { id: urn, parent } = await createUnderSpan(otel, async () =>
			connector.create("traced", { sleepMs: 5 }, { retainFor: -1, priority: 1 })
		);
		const id = storageIdOf(urn);
		const task = await waitForStatus(connector, urn, ["success"]);

		const stored = await storage.get(id);
		expect(stored?.traceContext).toEqual({
			traceparent: `00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`
		});

		const [span] = await attemptSpans(otel, id);
		expect(span.name).toBe("process traced");
		expect(span.kind).toBe(SpanKind.CONSUMER);
		expect(span.spanContext().traceId).toBe(parent.spanContext().traceId);
		expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
		expect(span.attributes).toMatchObject({
			"messaging.system": "twin_background_task",
			"messaging.operation.type": "process",
			"messaging.destination.name": "traced",
			"messaging.message.id": id,
			"background_task.attempt": 1,
			"background_task.outcome": "success"
		});
		expect(span.status.code).toBe(SpanStatusCode.UNSET);

		// The handler's context carries the attempt span, and the handler runs with it active: in
		// the worker through the context manager its module registered there.
		const result = task.result as ITracedResult;
		expect(result.mainThread).toBe(mode === "inline");
		expect(result.traceContext).toEqual({
			traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`
		});
		expect(result.activeSpanId).toBe(span.spanContext().spanId);
		expect(result.innerTraceId).toBe(parent.spanContext().traceId);
		if (mode === "inline") {
			const inner = otel.spans().find(s => s.name === "inner");
			expect(inner?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
		} else {
			expect(result.innerParentSpanId).toBe(span.spanContext().spanId);
		}
	});

	test("a failing attempt's span has status ERROR with the error's message; a retry and the last failure each have a span under the create span", async () => {
		const otel = registerOtel();
		const { connector } = await started(mode);
		const { id: urn, parent } = await createUnderSpan(otel, async () =>
			connector.create("fails", undefined, { retainFor: -1, retryCount: 1, retryInterval: 1 })
		);
		const id = storageIdOf(urn);
		await waitForStatus(connector, urn, ["failed"]);
		const spans = await attemptSpans(otel, id, 2);
		expect(spans.map(s => s.attributes["background_task.outcome"])).toEqual(["retry", "failed"]);
		for (const span of spans) {
			expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
			expect(span.status).toEqual({
				code: SpanStatusCode.ERROR,
				message: "telemetry fixture failure"
			});
			expect(span.attributes["error.type"]).toBe("Error");
		}
	});
});

describe("OpenTelemetry metrics and propagation", () => {
	test("finished attempts are counted by type and outcome; run duration and start latency are recorded in seconds", async () => {
		const otel = registerOtel();
		const { connector } = await started("inline");
		const ok = await connector.create("traced", { sleepMs: 30 }, { retainFor: -1 });
		const ok2 = await connector.create("traced", { sleepMs: 30 }, { retainFor: -1 });
		const bad = await connector.create("fails", undefined, { retainFor: -1 });
		for (const id of [ok, ok2, bad]) {
			await waitForStatus(connector, id, ["success", "failed"]);
		}
		// The counter is added to right after the outcome is written: wait for the last.
		const found = await waitFor(async () => {
			const collected = await otel.metrics();
			const failed = pointOf(collected.get("background_task.finished"), {
				"background_task.outcome": "failed"
			});
			return failed?.value === 1 ? collected : undefined;
		});
		const finished = found.get("background_task.finished");
		expect(
			pointOf(finished, {
				"messaging.destination.name": "traced",
				"background_task.outcome": "success"
			})?.value
		).toBe(2);
		expect(pointOf(finished, { "messaging.destination.name": "fails" })?.value).toBe(1);

		const duration = found.get("background_task.run.duration");
		expect(duration?.descriptor.unit).toBe("s");
		const tracedDuration = pointOf<Histogram>(duration, {
			"messaging.destination.name": "traced",
			"background_task.outcome": "success"
		})?.value;
		expect(tracedDuration?.count).toBe(2);
		// Each handler slept 30 ms (timers may fire a little early).
		expect(tracedDuration?.min).toBeGreaterThanOrEqual(0.025);
		expect(tracedDuration?.max).toBeLessThan(10);

		const latency = found.get("background_task.start.latency");
		expect(latency?.descriptor.unit).toBe("s");
		const tracedLatency = pointOf<Histogram>(latency, {
			"messaging.destination.name": "traced"
		})?.value;
		expect(tracedLatency?.count).toBe(2);
		expect(tracedLatency?.min).toBeGreaterThanOrEqual(0);
		expect(tracedLatency?.max).toBeLessThan(10);
	});

	test("with a registered propagator, its headers are stored (baggage too) and the attempt still parents on the create span", async () => {
		const otel = registerOtel();
		propagation.setGlobalPropagator(
			new CompositePropagator({
				propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()]
			})
		);
		const { connector, storage } = await started("inline");
		const baggage = propagation.createBaggage({ tenant: { value: "a" } });
		const { id: urn, parent } = await createUnderSpan(otel, async () =>
			context.with(propagation.setBaggage(context.active(), baggage), async () =>
				connector.create("traced", undefined, { retainFor: -1 })
			)
		);
		const id = storageIdOf(urn);
		await waitForStatus(connector, urn, ["success"]);
		expect((await storage.get(id))?.traceContext).toEqual({
			traceparent: `00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`,
			baggage: "tenant=a"
		});
		const [span] = await attemptSpans(otel, id);
		expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
	});

	test("without a propagator the W3C headers are written and read here, tracestate included, for the attempt and the handler", async () => {
		const otel = registerOtel();
		const { connector, storage } = await started("inline");
		// A remote parent with a tracestate, as a request handler's extracted context would be.
		const remote = {
			traceId: "0af7651916cd43dd8448eb211c80319c",
			spanId: "b7ad6b7169203331",
			traceFlags: TraceFlags.SAMPLED,
			isRemote: true,
			traceState: createTraceState("vendor=one,other=two")
		};
		const urn = await context.with(trace.setSpanContext(context.active(), remote), async () =>
			connector.create("traced", undefined, { retainFor: -1 })
		);
		const id = storageIdOf(urn);
		const task = await waitForStatus(connector, urn, ["success"]);
		expect((await storage.get(id))?.traceContext).toEqual({
			traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			tracestate: "vendor=one,other=two"
		});
		const [span] = await attemptSpans(otel, id);
		expect(span.spanContext().traceId).toBe(remote.traceId);
		expect(span.parentSpanContext?.spanId).toBe(remote.spanId);
		expect(span.parentSpanContext?.traceState?.serialize()).toBe("vendor=one,other=two");
		expect((task.result as ITracedResult).traceContext).toEqual({
			traceparent: `00-${remote.traceId}-${span.spanContext().spanId}-01`,
			tracestate: "vendor=one,other=two"
		});
	});

	test("with a provider but no span active at create, nothing is stored and the attempt's span starts a trace of its own", async () => {
		const otel = registerOtel();
		const { connector, storage } = await started("inline");
		const urn = await connector.create("traced", undefined, { retainFor: -1 });
		const id = storageIdOf(urn);
		await waitForStatus(connector, urn, ["success"]);
		expect(Object.keys((await storage.get(id)) ?? {})).not.toContain("traceContext");
		const [span] = await attemptSpans(otel, id);
		expect(span.parentSpanContext).toBeUndefined();
	});
});

describe("without a registered provider", () => {
	test.each(["inline", "worker"] as const)(
		"%s: nothing is stored or shown, and the task is stored as it is today",
		async mode => {
			const { connector, storage } = await started(mode);
			const urn = await connector.create("traced", { sleepMs: 1 }, { retainFor: -1 });
			const id = storageIdOf(urn);
			const many = await connector.createMany("traced", [{}, {}], { retainFor: -1 });
			const task = await waitForStatus(connector, urn, ["success"]);
			for (const other of many) {
				await waitForStatus(connector, other, ["success"]);
			}
			const result = task.result as ITracedResult;
			expect(result.traceContext).toBeNull();
			expect(result.activeSpanId).toBeUndefined();
			// Exactly the original entity's keys (absent ones as undefined, as the original writes
			// them): no trace context, nor any other of this package's.
			for (const stored of [id, ...many.map(storageIdOf)]) {
				expect(Object.keys((await storage.get(stored)) ?? {}).sort()).toEqual(ORIGINAL_KEYS);
			}
		}
	);
});
