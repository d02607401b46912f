// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IRateLimit } from "../models/IHandlerOptions.js";

/**
 * The sliding window of one type's rate limit on this node: when its recent starts happened, so
 * the next start waits until the oldest of the last `max` starts has left the window.
 */
export class StartWindow {
	/**
	 * When the recent starts happened, ascending, epoch ms.
	 * @internal
	 */
	private readonly _starts: number[] = [];

	/**
	 * A task started.
	 * @param now When, epoch ms.
	 */
	public noteStart(now: number): void {
		this._starts.push(now);
	}

	/**
	 * The earliest time the limit lets the next task start; forgets starts that left the window.
	 * @param now The current time, epoch ms.
	 * @param limit The rate limit.
	 * @returns The time, epoch ms (negative infinity when the window has room).
	 */
	public readyAt(now: number, limit: IRateLimit): number {
		const starts = this._starts;
		while (starts.length > 0 && starts[0] <= now - limit.per) {
			starts.shift();
		}
		return starts.length >= limit.max
			? starts[starts.length - limit.max] + limit.per
			: Number.NEGATIVE_INFINITY;
	}
}
