// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "./backgroundTask.js";

/**
 * The properties this package adds to the original's entity for its queue options and features
 * (progress, the trace context). Each is written only when set: a task that uses none is stored exactly as the
 * original stores it, and a table made before they existed (without their columns) keeps working.
 */
export const QUEUE_PROPERTIES: ReadonlySet<keyof BackgroundTask> = new Set([
	"priority",
	"dedupKey",
	"retryBackoff",
	"retryMaxInterval",
	"attempts",
	"progress",
	"traceContext"
] as const);

/**
 * The entity's numeric properties: a store may hand them back as strings (PostgreSQL BIGINT, and
 * some connectors' REAL or NUMERIC), so both paths coerce them on read.
 */
export const NUMBER_PROPERTIES = [
	"retryInterval",
	"retriesRemaining",
	"retainFor",
	"retainUntil",
	"priority",
	"retryMaxInterval",
	"attempts"
] as const satisfies readonly (keyof BackgroundTask)[];
