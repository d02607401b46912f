// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskLog } from "../utils/taskLog.js";

/**
 * The background work of one scheduler (runs, scans, sweeps) that stop() waits for. A tracked
 * promise never rejects: a failure is logged.
 */
export class WorkTracker {
	/**
	 * The work not yet settled.
	 * @internal
	 */
	private readonly _work = new Set<Promise<void>>();

	/**
	 * Create a new WorkTracker.
	 * @param log The log, for work that fails.
	 */
	constructor(private readonly log: TaskLog) {}

	/**
	 * Keep a background promise until it settles.
	 * @param work The work.
	 */
	public track(work: Promise<unknown>): void {
		const tracked: Promise<void> = work.then(
			() => {
				this._work.delete(tracked);
			},
			err => {
				this._work.delete(tracked);
				this.log.log("error", "unexpectedError", {}, err);
			}
		);
		this._work.add(tracked);
	}

	/**
	 * The work tracked now, settled.
	 * @returns Resolves when all of it has settled.
	 */
	public async settled(): Promise<void> {
		await Promise.allSettled([...this._work]);
	}
}
