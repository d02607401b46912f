// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { Context } from "@opentelemetry/api";
import { otelGlobals, type OtelApi } from "./otelApi.js";

/**
 * A span's context as W3C Trace Context headers in a plain object: `traceparent`, and
 * `tracestate` when the span has one (plus whatever else a registered propagator writes, such as
 * `baggage`). What a task stores as its traceContext and what a handler's context shows.
 */
export type TraceCarrier = { [key: string]: string };

/**
 * A W3C traceparent: version, trace id, parent span id, flags.
 */
const TRACE_PARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The carrier of a context's span, through the registered propagator when there is one; a
 * traceparent is written here when the propagator wrote none (none registered, or one of another
 * format), so a carrier always holds the W3C headers.
 * @param api The API.
 * @param ctx The context.
 * @returns The carrier, undefined when the context holds no valid span.
 */
export function carrierOf(api: OtelApi, ctx: Context): TraceCarrier | undefined {
	const span = api.trace.getSpanContext(ctx);
	if (span === undefined || !api.isSpanContextValid(span)) {
		return undefined;
	}
	const carrier: TraceCarrier = {};
	if (otelGlobals()?.propagation !== undefined) {
		api.propagation.inject(ctx, carrier);
	}
	if (carrier.traceparent === undefined) {
		const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
		carrier.traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
		const state = span.traceState?.serialize();
		if (state) {
			carrier.tracestate = state;
		}
	}
	return carrier;
}

/**
 * The context a stored carrier stands for, through the registered propagator when there is one
 * and it finds a span, else from the W3C headers.
 * @param api The API.
 * @param carrier The carrier, if the task has one.
 * @returns The context: the root context when there is no valid carrier.
 */
export function contextOf(api: OtelApi, carrier: TraceCarrier | undefined): Context {
	if (carrier === undefined || carrier === null || typeof carrier !== "object") {
		return api.ROOT_CONTEXT;
	}
	if (otelGlobals()?.propagation !== undefined) {
		const extracted = api.propagation.extract(api.ROOT_CONTEXT, carrier);
		if (api.trace.getSpanContext(extracted) !== undefined) {
			return extracted;
		}
	}
	const match = TRACE_PARENT.exec(String(carrier.traceparent));
	if (!match || match[1] === "ff") {
		return api.ROOT_CONTEXT;
	}
	const spanContext = {
		traceId: match[2],
		spanId: match[3],
		traceFlags: Number.parseInt(match[4], 16),
		isRemote: true,
		traceState:
			typeof carrier.tracestate === "string" && carrier.tracestate !== ""
				? api.createTraceState(carrier.tracestate)
				: undefined
	};
	return api.isSpanContextValid(spanContext)
		? api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext)
		: api.ROOT_CONTEXT;
}

/**
 * The carrier of the span active now, for a task created now.
 * @param api The API.
 * @returns The carrier, undefined when no span is active.
 */
export function activeCarrier(api: OtelApi): TraceCarrier | undefined {
	return carrierOf(api, api.context.active());
}
