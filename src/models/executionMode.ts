// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Where handlers run.
 */
// eslint-disable-next-line @typescript-eslint/naming-convention
export const ExecutionMode = {
	/**
	 * In a pool of reused worker threads (default): isolated, can be timed out and memory-limited.
	 */
	Worker: "worker",

	/**
	 * On the calling thread: lowest overhead, for light handlers and tests. A hung handler cannot be
	 * terminated and a handler calling process.exit ends the host.
	 */
	Inline: "inline"
} as const;

/**
 * Where handlers run.
 */
export type ExecutionMode = (typeof ExecutionMode)[keyof typeof ExecutionMode];
