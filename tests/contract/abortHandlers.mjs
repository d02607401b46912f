// Handlers of the abort contract (abortContract.ts), apart from handlers.mjs: they import the
// package for getTaskContext(), which every other contract handler would then pay for on its
// first call in each thread. What a test observes goes through files named in the payload.
import { existsSync, writeFileSync } from "node:fs";
import { threadId } from "node:worker_threads";
// By the package's name, as a handler module would: the built ES module, inline and in a worker.
import { getTaskContext } from "@twin-fast/background-task-connector-entity-storage/context";

/**
 * Poll period of the waiting handlers, ms.
 */
const POLL_MS = 5;

/**
 * The longest a handler waits, ms.
 */
const MAX_WAIT_MS = 20000;

/**
 * Write payload.started (this thread's id), then wait until the context's signal fires or
 * payload.release exists. On the signal, write its reason's name and message to payload.aborted
 * and throw the reason, as a handler honouring its signal does; on the release, return.
 * @param {unknown} engineCloneData Unused.
 * @param {{ started: string; release?: string; aborted: string }} payload The payload.
 * @returns {Promise<{ released: true }>} When released.
 */
export async function honours(engineCloneData, payload) {
	const { signal } = getTaskContext();
	writeFileSync(payload.started, String(threadId));
	const deadline = Date.now() + MAX_WAIT_MS;
	while (!signal.aborted && !(payload.release && existsSync(payload.release))) {
		if (Date.now() > deadline) {
			throw new Error("neither aborted nor released in time");
		}
		await new Promise(resolve => setTimeout(resolve, POLL_MS));
	}
	if (signal.aborted) {
		const reason = signal.reason;
		writeFileSync(
			payload.aborted,
			JSON.stringify({ name: reason?.name, message: reason?.message })
		);
		throw reason;
	}
	return { released: true };
}

/**
 * Write payload.started (this thread's id), then ignore the signal: wait for payload.release
 * (inline, asynchronously, so the host keeps running; in a worker, blocking the thread, so only
 * its termination ends it), and write payload.finished when it ends on its own.
 * @param {unknown} engineCloneData Unused.
 * @param {{ started: string; release: string; finished: string; block?: boolean }} payload The
 *   payload.
 * @returns {Promise<{ finished: true }>} When released.
 */
export async function ignores(engineCloneData, payload) {
	writeFileSync(payload.started, String(threadId));
	const deadline = Date.now() + MAX_WAIT_MS;
	while (!existsSync(payload.release) && Date.now() < deadline) {
		if (payload.block) {
			// Busy, never yielding: the signal cannot even be observed.
			const until = Date.now() + POLL_MS;
			while (Date.now() < until) {
				// spin
			}
		} else {
			await new Promise(resolve => setTimeout(resolve, POLL_MS));
		}
	}
	writeFileSync(payload.finished, "finished");
	return { finished: true };
}

/**
 * Report this thread's id.
 * @returns {Promise<{ threadId: number }>} The thread.
 */
export async function whichThread() {
	return { threadId };
}
