// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * Runs a handler with its attempt's span active, for the OpenTelemetry instrumentation of the
 * handler's own thread. Plain JavaScript like the rest of the handler runner.
 *
 * The runner has the attempt span's W3C trace context (job.traceContext) only when the scheduler's
 * thread has a tracer provider. The span itself lives in that thread; what this thread can make
 * active is its context (a non-recording span wrapping it, the API's trace.wrapSpanContext), so
 * spans the handler starts are its children and trace.getActiveSpan() shows its ids. That needs
 * this thread's copy of @opentelemetry/api and a context manager registered in it (by the
 * handler's module or the engine it builds); where there is none, nothing is imported and the
 * handler runs as before (it can still read the trace context from getTaskContext()).
 */

/**
 * The key of the globals of @opentelemetry/api 1.x on globalThis (OTEL_GLOBAL_KEY of
 * src/telemetry/otelApi.ts).
 */
const OTEL_GLOBAL_KEY = Symbol.for("opentelemetry.js.api.1");

/**
 * A W3C traceparent: version, trace id, parent span id, flags.
 */
const TRACE_PARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The API once imported, null when it cannot be (not installed where this file is).
 * @type {any}
 */
let api;

/**
 * The one import of the API.
 * @type {Promise<void> | undefined}
 */
let loading;

/**
 * Whether the API must be imported before traceCall can make a span active: a promise to wait for
 * the first time a context manager is seen in this thread, else undefined.
 * @returns {Promise<void> | undefined} The import.
 */
export function traceReady() {
	if (api !== undefined || globalThis[OTEL_GLOBAL_KEY]?.context === undefined) {
		return undefined;
	}
	// The API is CommonJS (Node resolves its `default` build), so this import() never goes
	// through require(esm), and a handler's require() of it gets the same module.
	loading ??= import("@opentelemetry/api").then(
		mod => {
			api = mod.SpanKind === undefined ? mod.default : mod;
		},
		() => {
			api = null;
		}
	);
	return loading;
}

/**
 * Call a handler with the span of a trace context active, where this thread has a context
 * manager and the API is loaded (traceReady); else just call it.
 * @template T
 * @param {{ [key: string]: string }} carrier The attempt span's trace context.
 * @param {() => T} call The handler's call.
 * @returns {T} What the call returns.
 */
export function traceCall(carrier, call) {
	if (!api || globalThis[OTEL_GLOBAL_KEY]?.context === undefined) {
		return call();
	}
	const match = TRACE_PARENT.exec(String(carrier.traceparent));
	if (!match) {
		return call();
	}
	const spanContext = {
		traceId: match[2],
		spanId: match[3],
		traceFlags: Number.parseInt(match[4], 16),
		isRemote: true,
		traceState: carrier.tracestate ? api.createTraceState(carrier.tracestate) : undefined
	};
	const active = api.trace.setSpan(api.context.active(), api.trace.wrapSpanContext(spanContext));
	return api.context.with(active, call);
}
