// OpenTelemetry for the telemetry tests: the SDK's in-memory span exporter and a metric reader
// collected on demand, registered as the global providers (with an AsyncLocalStorage context
// manager) before each test that asks, and unregistered after it, so every other test runs with
// no provider, as a node without OpenTelemetry does.
import { context, metrics, propagation, trace, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
	AggregationTemporality,
	MeterProvider,
	MetricReader,
	type DataPoint,
	type Histogram,
	type MetricData
} from "@opentelemetry/sdk-metrics";
import {
	BasicTracerProvider,
	InMemorySpanExporter,
	SimpleSpanProcessor,
	type ReadableSpan
} from "@opentelemetry/sdk-trace-base";
import { afterEach } from "vitest";

/**
 * A reader whose metrics the test collects when it wants them.
 */
class OnDemandReader extends MetricReader {
	constructor() {
		super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
	}

	/**
	 * Nothing buffered.
	 */
	protected async onForceFlush(): Promise<void> {}

	/**
	 * Nothing to release.
	 */
	protected async onShutdown(): Promise<void> {}
}

/**
 * The registered providers of one test.
 */
export interface IOtelUnderTest {
	/**
	 * A tracer of the test's provider.
	 */
	tracer: Tracer;

	/**
	 * The spans ended so far.
	 * @returns The spans.
	 */
	spans(): ReadableSpan[];

	/**
	 * The package's metrics collected now, by name.
	 * @returns The metrics.
	 */
	metrics(): Promise<Map<string, MetricData>>;
}

/**
 * Providers to unregister after the test.
 */
let registered: { shutdown: () => Promise<void> } | undefined;

afterEach(async () => {
	const current = registered;
	registered = undefined;
	trace.disable();
	metrics.disable();
	propagation.disable();
	context.disable();
	await current?.shutdown();
});

/**
 * Register a tracer provider with an in-memory exporter, a meter provider with an on-demand
 * reader and an AsyncLocalStorage context manager as the globals, for this test only.
 * @returns The test's view of them.
 */
export function registerOtel(): IOtelUnderTest {
	const contextManager = new AsyncLocalStorageContextManager().enable();
	context.setGlobalContextManager(contextManager);
	const exporter = new InMemorySpanExporter();
	const tracerProvider = new BasicTracerProvider({
		spanProcessors: [new SimpleSpanProcessor(exporter)]
	});
	trace.setGlobalTracerProvider(tracerProvider);
	const reader = new OnDemandReader();
	const meterProvider = new MeterProvider({ readers: [reader] });
	metrics.setGlobalMeterProvider(meterProvider);
	registered = {
		shutdown: async () => {
			contextManager.disable();
			await tracerProvider.shutdown();
			await meterProvider.shutdown();
		}
	};
	return {
		tracer: trace.getTracer("test"),
		spans: () => exporter.getFinishedSpans(),
		metrics: async () => {
			const { resourceMetrics } = await reader.collect();
			const found = new Map<string, MetricData>();
			for (const scope of resourceMetrics.scopeMetrics) {
				if (scope.scope.name === "@twin-fast/background-task-connector-entity-storage") {
					for (const metric of scope.metrics) {
						found.set(metric.descriptor.name, metric);
					}
				}
			}
			return found;
		}
	};
}

/**
 * The data point of a metric whose attributes include these.
 * @param metric The metric.
 * @param attributes The attributes to match.
 * @returns The point, undefined when none matches.
 */
export function pointOf<T = number | Histogram>(
	metric: MetricData | undefined,
	attributes: { [key: string]: string }
): DataPoint<T> | undefined {
	return (metric?.dataPoints as DataPoint<T>[] | undefined)?.find(point =>
		Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)
	);
}

/**
 * The spans of the package's tracer.
 * @param spans The spans.
 * @returns Those the package made.
 */
export function taskSpans(spans: ReadableSpan[]): ReadableSpan[] {
	return spans.filter(
		span => span.instrumentationScope.name === "@twin-fast/background-task-connector-entity-storage"
	);
}
