// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * Runs task handlers. Loaded as the worker entry of the pool (worker mode) and imported directly
 * on the calling thread (inline mode), so both modes share one implementation.
 *
 * Plain JavaScript with no dependency on the rest of the package, so the same file serves the
 * ES module and CommonJS builds and the tests without a compile step.
 *
 * It never throws: every outcome comes back as an envelope, { ok: true, result } or
 * { ok: false, error }, with the handler's own error name and message kept (a structured clone of
 * a thrown error would lose a custom class name).
 */
import { locateModule } from "./moduleLocator.mjs";

/**
 * Imported handler modules by specifier: each module is imported once per thread.
 * @type {Map<string, Promise<Record<string, unknown>>>}
 */
const modules = new Map();

/**
 * Resolved handler functions by "specifier#method", bound to their owner.
 * @type {Map<string, (...args: unknown[]) => unknown>}
 */
const handlers = new Map();

/**
 * Run one handler.
 * @param {{ module: string, method: string, engineCloneData?: unknown, payload?: unknown, hasPayload: boolean, started?: import("node:worker_threads").MessagePort }} job
 *   The handler to call and its arguments; `started`, when given, is told when the handler is called.
 * @returns {Promise<{ ok: true, result?: unknown } | { ok: false, error: { name: string, message: string, stack?: string, properties?: Record<string, unknown> } }>}
 *   The outcome.
 */
export default async function runHandler(job) {
	try {
		const handler = await resolveHandler(job.module, job.method);
		// Worker mode with a timeout: tell the pool the handler starts now, so its timeout starts
		// now, not counting the start-up of a fresh worker or the first import of the module.
		job.started?.postMessage("started");
		const result = job.hasPayload
			? await handler(job.engineCloneData, job.payload)
			: await handler(job.engineCloneData);
		return { ok: true, result: toJson(result) };
	} catch (err) {
		return { ok: false, error: toErrorObject(err) };
	}
}

/**
 * Find the handler function: an export name, or Export.member for a static method.
 * @param {string} specifier The module specifier.
 * @param {string} method The method name.
 * @returns {Promise<(...args: unknown[]) => unknown>} The bound handler.
 */
async function resolveHandler(specifier, method) {
	const key = `${specifier}#${method}`;
	const cached = handlers.get(key);
	if (cached) {
		return cached;
	}
	const mod = await loadModule(specifier, method);
	const [exportName, ...members] = method.split(".");
	let owner = mod;
	let value = mod[exportName] ?? /** @type {any} */ (mod.default)?.[exportName];
	if (value === undefined || value === null) {
		throw moduleHelperError("entryNotFound", specifier, method);
	}
	for (const member of members) {
		owner = value;
		value = value?.[member];
	}
	if (typeof value !== "function") {
		throw moduleHelperError("notFunction", specifier, method);
	}
	const handler = value.bind(owner);
	handlers.set(key, handler);
	return handler;
}

/**
 * Import a module once per thread; a failed import is forgotten so a later task can try again.
 * @param {string} specifier The module specifier.
 * @param {string} method The method, named in the error.
 * @returns {Promise<Record<string, unknown>>} The module namespace.
 */
function loadModule(specifier, method) {
	let loading = modules.get(specifier);
	if (!loading) {
		loading = import(locateModule(specifier).url).catch(err => {
			modules.delete(specifier);
			throw moduleHelperError("moduleNotFound", specifier, method, err);
		});
		modules.set(specifier, loading);
	}
	return loading;
}

/**
 * The error the original package stores when a handler cannot be found, field for field: a
 * GeneralError from its ModuleHelper with the module and the entry, and the import's own error
 * as inner for a module that could not be loaded.
 * @param {"moduleNotFound" | "entryNotFound" | "notFunction"} key The message key.
 * @param {string} specifier The module specifier.
 * @param {string} method The method.
 * @param {unknown} [cause] The import's error.
 * @returns {object} The error object.
 */
function moduleHelperError(key, specifier, method, cause) {
	const error = {
		name: "GeneralError",
		source: "ModuleHelper",
		message: `moduleHelper.${key}`,
		properties: { module: specifier, entry: method }
	};
	if (cause !== undefined) {
		error.inner = toErrorObject(cause);
	}
	return new HandlerLookupError(error);
}

/**
 * Carries a ready error object through the handler runner's catch.
 */
class HandlerLookupError extends Error {
	/**
	 * @param {object} error The error object to report.
	 */
	constructor(error) {
		super(error.message);
		this.errorObject = error;
	}
}

/**
 * Copy a result as JSON, as storage will hold it; fail clearly when it cannot be.
 * @param {unknown} result The handler's return value.
 * @returns {unknown} The JSON copy.
 */
function toJson(result) {
	if (result === undefined) {
		return undefined;
	}
	let text;
	try {
		text = JSON.stringify(result);
	} catch (err) {
		throw namedError(
			"ResultNotSerializableError",
			`The handler's result is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`
		);
	}
	return text === undefined ? undefined : JSON.parse(text);
}

/**
 * Describe anything thrown as a plain error object.
 * @param {unknown} err What was thrown.
 * @returns {string | { name: string, message: string, stack?: string, source?: string, properties?: Record<string, unknown> }}
 *   The error (a thrown string as it is).
 */
function toErrorObject(err) {
	if (err instanceof HandlerLookupError) {
		return err.errorObject;
	}
	if (err instanceof Error) {
		const withJson = /** @type {any} */ (err);
		if (typeof withJson.toJsonObject === "function") {
			try {
				return JSON.parse(JSON.stringify(withJson.toJsonObject(true)));
			} catch {
				// fall through to the plain description
			}
		}
		return { name: err.name, message: err.message, stack: err.stack };
	}
	if (typeof err === "string") {
		// As thrown: the recorded error is what BaseError.fromError makes of a string, as the
		// original records it.
		return err;
	}
	let message;
	try {
		message = JSON.stringify(err) ?? String(err);
	} catch {
		message = String(err);
	}
	return { name: "Error", message };
}

/**
 * Create an error with a given name.
 * @param {string} name The error name.
 * @param {string} message The message.
 * @returns {Error} The error.
 */
function namedError(name, message) {
	const err = new Error(message);
	err.name = name;
	return err;
}
