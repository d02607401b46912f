// Demo handler, slow: waits payload.ms milliseconds without using the CPU, as a handler waiting on
// I/O does. Several run at once (the type's concurrency), which is what the demo shows with it.

/**
 * Wait, then return.
 * @param {unknown} engineCloneData The engine clone data (unused).
 * @param {{ ms: number }} payload The payload.
 * @returns {Promise<{ waitedMs: number }>} How long it waited.
 */
export async function wait(engineCloneData, payload) {
	const start = Date.now();
	await new Promise(resolve => setTimeout(resolve, payload.ms));
	return { waitedMs: Date.now() - start };
}
