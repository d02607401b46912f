// Handlers for the storage contract suite, called as (engineCloneData, payload) inline or in a
// worker. What a test observes goes through files named in the payload (workers share no module
// state with the test). Every wait is a bounded poll with short sleeps.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * Poll period of waiting handlers, ms.
 */
const POLL_MS = 5;

/**
 * Bound of every wait, ms.
 */
const MAX_WAIT_MS = 20000;

/**
 * Return a small object built from the payload.
 * @param {unknown} engineCloneData Unused.
 * @param {unknown} payload The payload.
 * @returns {Promise<{ echoed: unknown }>} The result.
 */
export async function echo(engineCloneData, payload) {
	return { echoed: payload ?? null };
}

/**
 * Count this attempt in payload.counter (one line per attempt) and fail while the count is at
 * most payload.failures.
 * @param {unknown} engineCloneData Unused.
 * @param {{ counter: string; failures: number }} payload The payload.
 * @returns {Promise<{ attempts: number }>} The attempts made, on success.
 */
export async function failTimes(engineCloneData, payload) {
	appendFileSync(payload.counter, "attempt\n");
	const attempts = readFileSync(payload.counter, "utf8").split("\n").filter(Boolean).length;
	if (attempts <= payload.failures) {
		throw new Error(`attempt ${attempts} failed on purpose`);
	}
	return { attempts };
}

/**
 * Write payload.started, then wait until payload.release exists and return.
 * @param {unknown} engineCloneData Unused.
 * @param {{ started: string; release: string }} payload The payload.
 * @returns {Promise<{ released: boolean }>} Whether the release file appeared in time.
 */
export async function waitForRelease(engineCloneData, payload) {
	writeFileSync(payload.started, "started");
	const deadline = Date.now() + MAX_WAIT_MS;
	while (!existsSync(payload.release) && Date.now() < deadline) {
		await new Promise(resolve => setTimeout(resolve, POLL_MS));
	}
	return { released: existsSync(payload.release) };
}

/**
 * Return the payload as it is.
 * @param {unknown} engineCloneData Unused.
 * @param {unknown} payload The payload.
 * @returns {Promise<unknown>} The payload.
 */
export async function identity(engineCloneData, payload) {
	return payload;
}

/**
 * Append "<label> <start time ms>" to payload.log and return the label.
 * @param {unknown} engineCloneData Unused.
 * @param {{ log: string; label: string }} payload The payload.
 * @returns {Promise<string>} The label.
 */
export async function record(engineCloneData, payload) {
	appendFileSync(payload.log, `${payload.label} ${Date.now()}\n`);
	return payload.label;
}
