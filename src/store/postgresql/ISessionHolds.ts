// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What the session asks of the claims it holds.
 */
export interface ISessionHolds {
	/**
	 * The heartbeat's work on the held tasks: give back the stale ones, renew the leases.
	 */
	beat: () => Promise<void>;

	/**
	 * Before the connections close: end the fetches and settles in flight, give back what waits.
	 */
	close: () => Promise<void>;
}
