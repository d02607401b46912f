// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The OpenTelemetry API, an optional peer dependency: its types only, never a static import, so
 * the package loads and runs the same where it is not installed.
 */
export type OtelApi = typeof import("@opentelemetry/api");

/**
 * The name of the tracer and the meter: the package's.
 */
export const INSTRUMENTATION_NAME = "@twin-fast/background-task-connector-entity-storage";

/**
 * The key under which every copy of @opentelemetry/api 1.x keeps its registered globals on
 * globalThis (the API's own mechanism for copies of different versions to share one provider):
 * `trace`, `metrics`, `propagation` and `context` appear there when set, and go when disabled.
 * The same key is spelled in src/execution/handlerTrace.mjs.
 */
const OTEL_GLOBAL_KEY = Symbol.for("opentelemetry.js.api.1");

/**
 * The API's registered globals.
 */
export interface IOtelGlobals {
	/**
	 * The tracer provider, when one is registered.
	 */
	trace?: unknown;

	/**
	 * The meter provider, when one is registered.
	 */
	metrics?: unknown;

	/**
	 * The propagator, when one is registered.
	 */
	propagation?: unknown;

	/**
	 * The context manager, when one is registered.
	 */
	context?: unknown;
}

/**
 * The API once loaded; null when it could not be (not installed).
 */
let loaded: OtelApi | null | undefined;

/**
 * The one import of the API, kept: a failure is not retried.
 */
let loading: Promise<OtelApi | undefined> | undefined;

/**
 * The globals the API holds: one property read, the whole cost of telemetry to a node on which
 * nothing registered a provider (the API is then not even loaded).
 * @returns The globals, undefined when no copy of the API registered anything.
 */
export function otelGlobals(): IOtelGlobals | undefined {
	return (globalThis as { [key: symbol]: IOtelGlobals | undefined })[OTEL_GLOBAL_KEY];
}

/**
 * The API when a tracer or meter provider is registered: at once once loaded, a promise the first
 * time (the import). @opentelemetry/api is CommonJS (its `module` builds are for bundlers, and
 * Node resolves `default`), so this import() never goes through Node 20's require(esm), and an
 * application's require() of it gets the same module.
 * @returns The API, or undefined when no provider is registered or the API is not installed.
 */
export function otelApi(): OtelApi | undefined | Promise<OtelApi | undefined> {
	const globals = otelGlobals();
	if (globals === undefined || (globals.trace === undefined && globals.metrics === undefined)) {
		return undefined;
	}
	if (loaded !== undefined) {
		return loaded ?? undefined;
	}
	loading ??= import("@opentelemetry/api").then(
		mod => {
			// Imported as CommonJS: the namespace has the exports Node detected, and its default is
			// module.exports, where they all are whatever a loader detected.
			loaded = mod.SpanKind === undefined ? (mod as unknown as { default: OtelApi }).default : mod;
			return loaded;
		},
		() => {
			loaded = null;
			return undefined;
		}
	);
	return loading;
}
