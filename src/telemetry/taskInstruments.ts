// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { Counter, Histogram, Tracer } from "@opentelemetry/api";
import { INSTRUMENTATION_NAME, type OtelApi } from "./otelApi.js";

/**
 * The package's metrics.
 */
export interface ITaskInstruments {
	/**
	 * Attempts that ended and were recorded, by type and outcome.
	 */
	finished: Counter;

	/**
	 * How long each handler ran, seconds.
	 */
	duration: Histogram;

	/**
	 * How late each attempt started: its start minus its task's due time, seconds.
	 */
	startLatency: Histogram;
}

/**
 * Bucket boundaries for both histograms, seconds: those OpenTelemetry's messaging conventions
 * advise for durations (the SDK's defaults are meant for milliseconds).
 */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * The instruments, made for the meter provider registered when they were made.
 */
let instruments: { provider: unknown; value: ITaskInstruments } | undefined;

/**
 * The tracer, got from the tracer provider registered when it was got.
 */
let tracer: { provider: unknown; value: Tracer } | undefined;

/**
 * The package's instruments for the registered meter provider, made again only when another is
 * registered.
 * @param api The API.
 * @param provider The registered meter provider (the API's global).
 * @returns The instruments.
 */
export function taskInstruments(api: OtelApi, provider: unknown): ITaskInstruments {
	if (instruments === undefined || instruments.provider !== provider) {
		const meter = api.metrics.getMeter(INSTRUMENTATION_NAME);
		const advice = { explicitBucketBoundaries: SECONDS_BUCKETS };
		instruments = {
			provider,
			value: {
				finished: meter.createCounter("background_task.finished", {
					unit: "{attempt}",
					description: "Attempts of background tasks that ended, by type and outcome"
				}),
				duration: meter.createHistogram("background_task.run.duration", {
					unit: "s",
					description: "How long the handler of a background task ran",
					advice
				}),
				startLatency: meter.createHistogram("background_task.start.latency", {
					unit: "s",
					description: "How long after it was due a background task's attempt started",
					advice
				})
			}
		};
	}
	return instruments.value;
}

/**
 * The package's tracer for the registered tracer provider.
 * @param api The API.
 * @param provider The registered tracer provider (the API's global).
 * @returns The tracer.
 */
export function taskTracer(api: OtelApi, provider: unknown): Tracer {
	if (tracer === undefined || tracer.provider !== provider) {
		tracer = { provider, value: api.trace.getTracer(INSTRUMENTATION_NAME) };
	}
	return tracer.value;
}
