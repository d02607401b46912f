// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { AttemptTelemetry } from "./attemptTelemetry.js";
import { otelApi, otelGlobals } from "./otelApi.js";
import { activeCarrier, type TraceCarrier } from "./traceCarrier.js";

/**
 * The telemetry's two entries, for create and for a run. Each costs one read of the API's globals
 * when no provider is registered, and returns undefined: nothing is loaded, made or stored. A
 * promise comes back only the first time a provider is seen, while the API is imported.
 */

/**
 * The trace context to store with a task created now: that of the span active now, when a tracer
 * provider is registered and a span is active.
 * @returns The carrier, or undefined.
 */
export function traceContextAtCreate():
	| TraceCarrier
	| undefined
	| Promise<TraceCarrier | undefined> {
	if (otelGlobals()?.trace === undefined) {
		return undefined;
	}
	const api = otelApi();
	if (api instanceof Promise) {
		return api.then(loaded => (loaded === undefined ? undefined : activeCarrier(loaded)));
	}
	return api === undefined ? undefined : activeCarrier(api);
}

/**
 * An attempt starts: its span and measurements, when a tracer or meter provider is registered.
 * @param type The task type.
 * @param task The claimed task.
 * @param nowMs When, epoch ms.
 * @param dueMs When the task was due, epoch ms.
 * @returns The attempt's telemetry, or undefined.
 */
export function startAttempt(
	type: string,
	task: BackgroundTask,
	nowMs: number,
	dueMs: number
): AttemptTelemetry | undefined | Promise<AttemptTelemetry | undefined> {
	const api = otelApi();
	if (api instanceof Promise) {
		return api.then(loaded =>
			loaded === undefined ? undefined : AttemptTelemetry.start(loaded, type, task, nowMs, dueMs)
		);
	}
	return api === undefined ? undefined : AttemptTelemetry.start(api, type, task, nowMs, dueMs);
}

export type { AttemptTelemetry, TraceCarrier };
