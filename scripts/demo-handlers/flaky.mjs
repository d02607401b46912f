// Demo handler, flaky: stands for a call to an unreliable service. Each attempt fails at random
// with probability payload.failRate; the task is created with retries, so it succeeds on a retry.

/**
 * Call a simulated unreliable service.
 * @param {unknown} engineCloneData The engine clone data (unused).
 * @param {{ failRate: number, order: number }} payload The payload.
 * @returns {Promise<{ order: number, confirmed: boolean }>} The confirmation.
 */
export async function callService(engineCloneData, payload) {
	if (Math.random() < payload.failRate) {
		throw new Error("Service unavailable (simulated failure, the task will be retried)");
	}
	return { order: payload.order, confirmed: true };
}
