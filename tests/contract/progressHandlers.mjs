// Handlers of the progress contract (progressContract.ts), apart from handlers.mjs: they import
// the package, which every other contract handler would then pay for on its first call in each
// thread. What a test observes goes through files named in the payload.
import { existsSync, writeFileSync } from "node:fs";
// By the package's name, as a handler module would: the built ES module, inline and in a worker.
import { getTaskContext } from "@twin-fast/background-task-connector-entity-storage/context";

/**
 * Poll period of the waiting handler, ms.
 */
const POLL_MS = 5;

/**
 * The longest the waiting handler waits for its release file, ms.
 */
const MAX_WAIT_MS = 20000;

/**
 * Report { step } for steps 1 to payload.steps in a tight loop, write payload.started, wait until
 * payload.release exists, then report { step: "done" } and return (or throw, with payload.fail).
 * @param {unknown} engineCloneData Unused.
 * @param {{ steps: number; started: string; release: string; fail?: boolean }} payload The payload.
 * @returns {Promise<{ steps: number }>} The steps reported before the last.
 */
export async function progress(engineCloneData, payload) {
	const context = getTaskContext();
	for (let step = 1; step <= payload.steps; step++) {
		context.reportProgress({ step });
	}
	writeFileSync(payload.started, "started");
	const deadline = Date.now() + MAX_WAIT_MS;
	while (!existsSync(payload.release) && Date.now() < deadline) {
		await new Promise(resolve => setTimeout(resolve, POLL_MS));
	}
	context.reportProgress({ step: "done" });
	if (payload.fail) {
		throw new Error("failing after the progress on purpose");
	}
	return { steps: payload.steps };
}

/**
 * Call reportProgress with values it must refuse (undefined, a function, a bigint, a cycle) and
 * return each error's name and message; report nothing that is stored.
 * @returns {Promise<{ name: string; message: string }[]>} The errors, one per value.
 */
export async function badProgress() {
	const context = getTaskContext();
	const cycle = { label: "cycle" };
	cycle.self = cycle;
	const errors = [];
	for (const value of [undefined, () => 1, 10n, cycle, { nested: [1, () => 2] }]) {
		try {
			context.reportProgress(value);
			errors.push({ name: "none", message: "accepted" });
		} catch (err) {
			errors.push({ name: err.name, message: err.message });
		}
	}
	return errors;
}
