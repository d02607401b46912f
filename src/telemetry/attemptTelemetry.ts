// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { Attributes, Span } from "@opentelemetry/api";
import { TaskStatus } from "@twin.org/background-task-models";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { otelGlobals, type OtelApi } from "./otelApi.js";
import { taskInstruments, taskTracer, type ITaskInstruments } from "./taskInstruments.js";
import { carrierOf, contextOf, type TraceCarrier } from "./traceCarrier.js";

/**
 * What an attempt came to, as its span's `background_task.outcome` and the finished counter's:
 * the status the task was recorded with (`retry` for a failed attempt with retries left), or
 * `not_started` when stop() came before the handler was called.
 */
export type AttemptOutcomeName = "success" | "failed" | "retry" | "cancelled" | "not_started";

/**
 * The span attribute and metric attribute names. The messaging conventions' where they fit (the
 * type is the destination a task is sent to, the id the message's); the package's own otherwise.
 */
export const TELEMETRY_ATTRIBUTES = {
	system: "messaging.system",
	operationName: "messaging.operation.name",
	operationType: "messaging.operation.type",
	type: "messaging.destination.name",
	id: "messaging.message.id",
	attempt: "background_task.attempt",
	outcome: "background_task.outcome",
	errorType: "error.type"
} as const;

/**
 * The messaging.system of every span and metric.
 */
const MESSAGING_SYSTEM = "twin_background_task";

/**
 * One attempt's span and measurements, made only when a tracer or meter provider is registered.
 * The span (kind consumer, named `process <type>` as the messaging conventions name a process
 * span) is the child of the context stored with the task at create, so the trace continues on
 * whichever node runs it.
 */
export class AttemptTelemetry {
	/**
	 * How long the handler ran, ms, once it ended.
	 * @internal
	 */
	private _ranMs: number | undefined;

	/**
	 * Made by start().
	 * @param _api The API.
	 * @param _type The task type.
	 * @param _startedMs When the attempt started, epoch ms.
	 * @param _span The attempt's span, when a tracer provider is registered.
	 * @param _instruments The instruments, when a meter provider is registered.
	 * @param carrier The span's trace context, for the handler.
	 */
	private constructor(
		private readonly _api: OtelApi,
		private readonly _type: string,
		private readonly _startedMs: number,
		private readonly _span: Span | undefined,
		private readonly _instruments: ITaskInstruments | undefined,
		public readonly carrier: TraceCarrier | undefined
	) {}

	/**
	 * An attempt starts: its span begins and its start latency is recorded.
	 * @param api The API.
	 * @param type The task type.
	 * @param task The claimed task.
	 * @param nowMs When, epoch ms.
	 * @param dueMs When the task was due, epoch ms.
	 * @returns The attempt's telemetry.
	 */
	public static start(
		api: OtelApi,
		type: string,
		task: BackgroundTask,
		nowMs: number,
		dueMs: number
	): AttemptTelemetry {
		const globals = otelGlobals();
		let span: Span | undefined;
		let carrier: TraceCarrier | undefined;
		if (globals?.trace !== undefined) {
			const attributes: Attributes = {
				[TELEMETRY_ATTRIBUTES.system]: MESSAGING_SYSTEM,
				[TELEMETRY_ATTRIBUTES.operationName]: "process",
				[TELEMETRY_ATTRIBUTES.operationType]: "process",
				[TELEMETRY_ATTRIBUTES.type]: type,
				[TELEMETRY_ATTRIBUTES.id]: task.id
			};
			if (task.attempts !== undefined) {
				attributes[TELEMETRY_ATTRIBUTES.attempt] = task.attempts;
			}
			span = taskTracer(api, globals.trace).startSpan(
				`process ${type}`,
				{ kind: api.SpanKind.CONSUMER, startTime: nowMs, attributes },
				contextOf(api, task.traceContext)
			);
			carrier = carrierOf(api, api.trace.setSpan(api.ROOT_CONTEXT, span));
		}
		const instruments =
			globals?.metrics !== undefined ? taskInstruments(api, globals.metrics) : undefined;
		instruments?.startLatency.record(
			Number.isFinite(dueMs) ? Math.max(0, nowMs - dueMs) / 1000 : 0,
			{ [TELEMETRY_ATTRIBUTES.system]: MESSAGING_SYSTEM, [TELEMETRY_ATTRIBUTES.type]: type }
		);
		return new AttemptTelemetry(api, type, nowMs, span, instruments, carrier);
	}

	/**
	 * The handler returned or threw (or its worker died): its run time is measured here, before
	 * the outcome is written.
	 * @param nowMs When, epoch ms.
	 */
	public handlerEnded(nowMs: number): void {
		this._ranMs = nowMs - this._startedMs;
	}

	/**
	 * The attempt's outcome was recorded (or the attempt never ran): the span ends, with status
	 * ERROR and the error's message when the attempt failed, and the counters count it.
	 * @param next The task as settled, undefined when the handler was never called.
	 * @param nowMs When, epoch ms.
	 * @param recorded False when the outcome was not written (stop() abandoned the run): the span
	 * ends, but the metrics count only recorded attempts.
	 */
	public end(next: BackgroundTask | undefined, nowMs: number, recorded = true): void {
		const outcome = outcomeName(next);
		const error = outcome === "failed" || outcome === "retry" ? next?.error : undefined;
		if (this._span !== undefined) {
			this._span.setAttribute(TELEMETRY_ATTRIBUTES.outcome, outcome);
			if (error !== undefined) {
				this._span.setAttribute(TELEMETRY_ATTRIBUTES.errorType, error.name ?? "Error");
				this._span.setStatus({
					code: this._api.SpanStatusCode.ERROR,
					message: error.message
				});
			}
			this._span.end(nowMs);
		}
		if (this._instruments !== undefined && recorded && outcome !== "not_started") {
			const attributes: Attributes = {
				[TELEMETRY_ATTRIBUTES.system]: MESSAGING_SYSTEM,
				[TELEMETRY_ATTRIBUTES.type]: this._type,
				[TELEMETRY_ATTRIBUTES.outcome]: outcome
			};
			this._instruments.finished.add(1, attributes);
			this._instruments.duration.record(
				(this._ranMs ?? nowMs - this._startedMs) / 1000,
				attributes
			);
		}
	}
}

/**
 * An attempt's outcome by the status its task was recorded with.
 * @param next The settled task, undefined when the handler was never called.
 * @returns The outcome.
 */
function outcomeName(next: BackgroundTask | undefined): AttemptOutcomeName {
	switch (next?.status) {
		case undefined:
			return "not_started";
		case TaskStatus.Success:
			return "success";
		case TaskStatus.Pending:
			return "retry";
		case TaskStatus.Cancelled:
			return "cancelled";
		default:
			return "failed";
	}
}
