// Demo handler, CPU-bound: counts the primes below payload.limit by trial division. It keeps a
// worker thread busy for a few milliseconds, so its throughput is bound by the worker count.

/**
 * Count the primes below a limit.
 * @param {unknown} engineCloneData The engine clone data (unused).
 * @param {{ limit: number }} payload The payload.
 * @returns {Promise<{ limit: number, primes: number }>} The count.
 */
export async function countPrimes(engineCloneData, payload) {
	let primes = 0;
	for (let n = 2; n < payload.limit; n++) {
		let prime = true;
		for (let d = 2; d * d <= n; d++) {
			if (n % d === 0) {
				prime = false;
				break;
			}
		}
		if (prime) {
			primes++;
		}
	}
	return { limit: payload.limit, primes };
}
