// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";

/**
 * How long a settle is remembered: far longer than the read lag of an eventually consistent
 * store (DynamoDB's is typically under a second).
 */
const REMEMBER_MS = 10_000;

/**
 * What this instance last did to a task: wrote it (with the dateModified and status written) or
 * removed it, and when.
 */
type RecentWrite =
	| {
			readonly at: number;
			readonly kind: "written";
			readonly dateModified: string;
			readonly status: string;
	  }
	| { readonly at: number; readonly kind: "removed" };

/**
 * The outcomes this instance recorded in the last few seconds, to recognise a read that predates
 * them. DynamoDB's reads are eventually consistent by default: just after a task was recorded
 * `success`, a scan and the claim's re-read may both still return it `pending`, and claiming that
 * copy would run the task a second time. Entries leave in the order they came, after
 * REMEMBER_MS.
 */
export class RecentWrites {
	/**
	 * The last outcome written per task.
	 * @internal
	 */
	private readonly _byId = new Map<string, RecentWrite>();

	/**
	 * Until then the oldest write kept cannot have expired, so a write need not prune: walking the
	 * map's entries allocated an iterator on every write. isStale checks the age itself, so this
	 * changes only how long an expired write stays in memory.
	 * @internal
	 */
	private _pruneAt = Number.NEGATIVE_INFINITY;

	/**
	 * Remember an outcome.
	 * @param task The task as written.
	 * @param removed True when it was removed rather than written.
	 * @param nowMs The current time.
	 */
	public remember(
		task: Pick<BackgroundTask, "id" | "dateModified" | "status">,
		removed: boolean,
		nowMs: number
	): void {
		this.record(
			task.id,
			removed
				? { at: nowMs, kind: "removed" }
				: { at: nowMs, kind: "written", dateModified: task.dateModified, status: task.status },
			nowMs
		);
	}

	/**
	 * Remember that a task was removed.
	 * @param id The task id.
	 * @param nowMs The current time.
	 */
	public rememberRemoval(id: string, nowMs: number): void {
		this.record(id, { at: nowMs, kind: "removed" }, nowMs);
	}

	/**
	 * Whether a task as read is older than what this instance last wrote of it.
	 * @param task The task as read.
	 * @param nowMs The current time.
	 * @returns True when the read predates a remembered write.
	 */
	public isStale(
		task: Pick<BackgroundTask, "id" | "dateModified" | "status">,
		nowMs: number
	): boolean {
		const written = this._byId.get(task.id);
		if (!written || nowMs - written.at >= REMEMBER_MS) {
			return false;
		}
		if (written.kind === "removed" || task.dateModified < written.dateModified) {
			return true;
		}
		return task.dateModified === written.dateModified && task.status !== written.status;
	}

	/**
	 * Keep what was last done to a task.
	 * @param id The task id.
	 * @param write What was done.
	 * @param nowMs The current time.
	 * @internal
	 */
	private record(id: string, write: RecentWrite, nowMs: number): void {
		if (nowMs >= this._pruneAt) {
			this.prune(nowMs);
		}
		// Deleted first, so the map's order stays the order of writes.
		this._byId.delete(id);
		this._byId.set(id, write);
	}

	/**
	 * Forget the writes older than REMEMBER_MS.
	 * @param nowMs The current time.
	 * @internal
	 */
	private prune(nowMs: number): void {
		for (const [id, written] of this._byId) {
			if (nowMs - written.at < REMEMBER_MS) {
				this._pruneAt = written.at + REMEMBER_MS;
				return;
			}
			this._byId.delete(id);
		}
		this._pruneAt = Number.NEGATIVE_INFINITY;
	}
}
