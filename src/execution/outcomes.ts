// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError } from "@twin.org/core";
import type { AttemptOutcome } from "../scheduling/rules.js";

/**
 * The location of the handler runner, shared by both executors.
 */
export const HANDLER_WORKER_URL = new URL("./handlerWorker.mjs", import.meta.url);

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
 * Normalise the envelope returned by the handler runner: errors become IError JSON.
 * @param envelope The envelope.
 * @returns The outcome.
 */
export function fromEnvelope(envelope: AttemptOutcome): AttemptOutcome {
	return envelope.ok
		? envelope
		: { ok: false, error: BaseError.fromError(envelope.error).toJsonObject(true) };
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
