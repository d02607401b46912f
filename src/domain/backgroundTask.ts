// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskStatus } from "@twin.org/background-task-models";
import type { IError } from "@twin.org/core";
import { entity, property, SortDirection } from "@twin.org/entity";

/**
 * The storage entity of a background task. The schema is unchanged from the original connector so
 * existing tables keep working.
 */
@entity()
export class BackgroundTask {
	/**
	 * The id: 32 lower-case hex characters.
	 */
	@property({ type: "string", isPrimary: true })
	public id!: string;

	/**
	 * The type of the task.
	 */
	@property({ type: "string", sortDirection: SortDirection.Ascending })
	public type!: string;

	/**
	 * The thread that owns the task: "main" on the main thread, else the worker thread id.
	 */
	@property({ type: "string", isSecondary: true })
	public threadId!: string;

	/**
	 * The retry interval in milliseconds, undefined for the configured default.
	 */
	@property({ type: "number", optional: true })
	public retryInterval?: number;

	/**
	 * The number of retries remaining.
	 */
	@property({ type: "number", optional: true })
	public retriesRemaining?: number;

	/**
	 * The date the task was created, ISO 8601.
	 */
	@property({ type: "string", format: "date-time", sortDirection: SortDirection.Ascending })
	public dateCreated!: string;

	/**
	 * The date the task was last modified, ISO 8601.
	 */
	@property({ type: "string", format: "date-time", sortDirection: SortDirection.Ascending })
	public dateModified!: string;

	/**
	 * The date the task is next due, set while pending or processing.
	 */
	@property({
		type: "string",
		format: "date-time",
		sortDirection: SortDirection.Ascending,
		optional: true
	})
	public dateNextProcess?: string;

	/**
	 * The date the task was cancelled.
	 */
	@property({ type: "string", format: "date-time", optional: true })
	public dateCancelled?: string;

	/**
	 * The date the task reached success or failed.
	 */
	@property({ type: "string", format: "date-time", optional: true })
	public dateCompleted?: string;

	/**
	 * How long to keep the task once final, in ms: 0 remove at once, -1 keep forever.
	 */
	@property({ type: "number", optional: true })
	public retainFor?: number;

	/**
	 * Epoch milliseconds after which a final task is swept, -1 for never.
	 */
	@property({ type: "integer", format: "uint64", optional: true })
	public retainUntil?: number;

	/**
	 * The status: pending, processing, success, failed or cancelled.
	 */
	@property({ type: "string" })
	public status!: TaskStatus;

	/**
	 * The payload passed to the handler.
	 */
	@property({ type: "object", optional: true })
	public payload?: unknown;

	/**
	 * The value the handler returned.
	 */
	@property({ type: "object", optional: true })
	public result?: unknown;

	/**
	 * The error of the last attempt.
	 */
	@property({ type: "object", optional: true })
	public error?: IError;

	/**
	 * Among due tasks of one type, higher runs first; absent means 0. Written only when set
	 * (this package's queue option, not the original's).
	 */
	@property({ type: "integer", optional: true })
	public priority?: number;

	/**
	 * While a task of the same type and key is pending or processing, create() returns that task
	 * instead of creating another. Written only when set.
	 */
	@property({ type: "string", optional: true })
	public dedupKey?: string;

	/**
	 * "exponential" doubles the retry interval per failed attempt up to retryMaxInterval, with full
	 * jitter; absent means fixed (the original's rule). Written only when set.
	 */
	@property({ type: "string", optional: true })
	public retryBackoff?: string;

	/**
	 * The cap of an exponential retry interval, ms. Written only when set.
	 */
	@property({ type: "number", optional: true })
	public retryMaxInterval?: number;

	/**
	 * Attempts started so far. Kept only for tasks created with one of this package's queue
	 * options (or config.recordAttempts): a task created as the original creates it is stored
	 * exactly as the original stores it.
	 */
	@property({ type: "integer", optional: true })
	public attempts?: number;

	/**
	 * The last progress the handler reported (getTaskContext().reportProgress), any JSON value.
	 * Written only once a handler reports progress, and kept across attempts until it reports
	 * another.
	 */
	@property({ type: "object", optional: true })
	public progress?: unknown;

	/**
	 * The W3C trace context (traceparent, tracestate) of the span that was active when the task
	 * was created, so each attempt's span continues that trace on whichever node runs it. Written
	 * only when an OpenTelemetry tracer provider is registered and a span is active at create.
	 */
	@property({ type: "object", optional: true })
	public traceContext?: { [key: string]: string };
}
