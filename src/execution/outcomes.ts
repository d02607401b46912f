// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError } from "@twin.org/core";
import { NOT_STARTED } from "../contracts/ITaskExecutor.js";
import type { AttemptOutcome } from "../domain/rules.js";

/**
 * The location of the handler runner, shared by both executors: the inline executor imports it,
 * the pool's workers import it through POOL_WORKER_URL.
 */
export const HANDLER_WORKER_URL = new URL("./handlerWorker.mjs", import.meta.url);

/**
 * The worker entry of the pool: a CommonJS file that imports the handler runner, because piscina
 * require()s its entry and require() of an ES module can abort the process when the worker is
 * terminated while loading it (see handlerWorker.cjs).
 */
export const POOL_WORKER_URL = new URL("./handlerWorker.cjs", import.meta.url);

/**
 * The module locator the worker uses, loaded with import() so that the CommonJS build can load
 * it on every Node 20 (it is an ES module shared with the worker).
 */
const MODULE_LOCATOR_URL = new URL("./moduleLocator.mjs", import.meta.url);

/**
 * Does a handler module specifier point at a module that exists, by the rules the worker uses
 * to import it.
 * @param specifier The module specifier.
 * @returns True if it was found.
 */
export async function moduleExists(specifier: string): Promise<boolean> {
	const locator = (await import(MODULE_LOCATOR_URL.href)) as typeof import("./moduleLocator.mjs");
	return locator.locateModule(specifier).found;
}

/**
 * A failed outcome with an error of the given name, as the stored IError.
 * @param name The error name.
 * @param message The message.
 * @returns The outcome.
 */
export function failure(name: string, message: string): AttemptOutcome {
	return { ok: false, error: { name, message } };
}

/**
 * The envelope the handler runner returns: an outcome whose progress, when the handler reported
 * any, is the last value's JSON text.
 */
export type RunnerEnvelope = AttemptOutcome & { progress?: string };

/**
 * Normalise the envelope returned by the handler runner: errors become IError JSON (a thrown
 * string as BaseError.fromError makes it, as the original), the progress's JSON text its value.
 * @param envelope The envelope.
 * @returns The outcome.
 */
export function fromEnvelope(envelope: RunnerEnvelope): AttemptOutcome {
	if (envelope.progress === undefined) {
		// Without the stack, as the original records errors.
		return envelope.ok
			? envelope
			: { ok: false, error: BaseError.fromError(envelope.error).toJsonObject() };
	}
	const progress: unknown = JSON.parse(envelope.progress);
	return envelope.ok
		? { ok: true, result: envelope.result, progress }
		: { ok: false, error: BaseError.fromError(envelope.error).toJsonObject(), progress };
}

/**
 * The failure for a handler that ran past its timeout.
 * @param timeoutMs The timeout.
 * @returns The outcome.
 */
export function timedOut(timeoutMs: number): AttemptOutcome {
	return failure(
		"TimeoutError",
		`The handler did not finish within ${timeoutMs} ms and was stopped`
	);
}

/**
 * The outcome of a pool worker's envelope, without the worker's timing.
 * @param envelope The envelope.
 * @returns The outcome, NOT_STARTED when the worker did not call the handler after abortAll().
 */
export function fromWorker(envelope: RunnerEnvelope & { notStarted?: boolean }): AttemptOutcome {
	if (envelope.notStarted) {
		return NOT_STARTED;
	}
	if (!envelope.ok) {
		return fromEnvelope(envelope);
	}
	const outcome: AttemptOutcome = { ok: true, result: envelope.result };
	if (envelope.progress !== undefined) {
		outcome.progress = JSON.parse(envelope.progress);
	}
	return outcome;
}

/**
 * Describe a failure of a pool worker itself (not of the handler).
 * @param err The pool's error.
 * @param maxWorkerMemoryMb The workers' heap limit, named in an out-of-memory failure.
 * @returns The outcome.
 */
export function workerFailure(err: unknown, maxWorkerMemoryMb: number | undefined): AttemptOutcome {
	const message = err instanceof Error ? err.message : String(err);
	if ((err as { code?: string })?.code === "ERR_WORKER_OUT_OF_MEMORY") {
		return failure(
			"OutOfMemoryError",
			`The handler ran out of memory (worker heap limit ${maxWorkerMemoryMb ?? "default"} MB); the worker was replaced`
		);
	}
	return failure("WorkerError", `The worker running the handler failed: ${message}`);
}
