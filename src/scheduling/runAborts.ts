// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { ITaskExecutor } from "../contracts/ITaskExecutor.js";

/**
 * One runner's claimed tasks (claimed and not yet recorded) and the aborts asked of their runs
 * (abort(id) on the connector, or another node's, told by the source). An abort asked before a run's outcome is decided fires the handler's signal
 * (through the executor) and makes the run end cancelled with its reason; once the outcome is
 * being recorded, an abort is refused, so the caller looks at the task again once it is
 * recorded (a retry then pending is cancelled as any pending task).
 */
export class RunAborts {
	/**
	 * The tasks the runner has claimed and not yet recorded.
	 * @internal
	 */
	private readonly _claims = new Set<string>();

	/**
	 * The reasons of the aborts asked, by task id.
	 * @internal
	 */
	private readonly _reasons = new Map<string, string>();

	/**
	 * The runs whose outcome is decided and being recorded.
	 * @internal
	 */
	private readonly _decided = new Set<string>();

	/**
	 * Aborts the source reported of tasks it holds for this instance whose run has not begun
	 * (claimed into the local queue on the native backend): asked when the run claims them.
	 * @internal
	 */
	private readonly _held = new Map<string, string>();

	/**
	 * Create the book.
	 * @param executor The executor, which fires the handlers' signals.
	 */
	constructor(private readonly executor: ITaskExecutor) {}

	/**
	 * Ask a claimed task's run to stop.
	 * @param id The task id.
	 * @param reason The reason.
	 * @returns True when the run will end cancelled; false once its outcome is decided.
	 */
	private ask(id: string, reason: string): boolean {
		if (this._decided.has(id)) {
			return false;
		}
		if (!this._reasons.has(id)) {
			this._reasons.set(id, reason);
			this.executor.abort(id, reason);
		}
		return true;
	}

	/**
	 * Keep the abort of a task held here whose run has not begun, for claimed().
	 * @param id The task id.
	 * @param reason The reason.
	 */
	private keepForRun(id: string, reason: string): void {
		this._held.set(id, reason);
	}

	/**
	 * A run claimed its task: an abort kept for it is asked now, so its handler is not called.
	 * @param id The task id.
	 */
	public claimed(id: string): void {
		this._claims.add(id);
		if (this._held.size > 0) {
			const reason = this._held.get(id);
			if (reason !== undefined) {
				this._held.delete(id);
				this.ask(id, reason);
			}
		}
	}

	/**
	 * The reason of the abort asked of a run, if any.
	 * @param id The task id.
	 * @returns The reason.
	 */
	public reasonOf(id: string): string | undefined {
		return this._reasons.get(id);
	}

	/**
	 * A run's outcome is being decided: later asks are refused until forget().
	 * @param id The task id.
	 * @returns The reason of the abort asked before, if any: the run ends cancelled.
	 */
	public decide(id: string): string | undefined {
		this._decided.add(id);
		return this._reasons.get(id);
	}

	/**
	 * A run's outcome is recorded (or given up).
	 * @param id The task id.
	 */
	public forget(id: string): void {
		this._decided.delete(id);
		this._reasons.delete(id);
	}

	/**
	 * Whether the runner holds the task claimed and its outcome is not recorded yet.
	 * @param id The task id.
	 * @returns True if so.
	 */
	public isClaimed(id: string): boolean {
		return this._claims.has(id);
	}

	/**
	 * A run's outcome is recorded: its task is no longer claimed here.
	 * @param id The task id.
	 */
	public recorded(id: string): void {
		this._claims.delete(id);
	}

	/**
	 * abort(id) for the runner: asked of a claimed task's run; kept for a task the source holds
	 * for this instance whose run has not begun (another node asked); else nothing.
	 * @param id The task id.
	 * @param reason The reason.
	 * @param held The source holds the task for this instance.
	 * @returns True when the task is claimed here and its outcome not decided yet.
	 */
	public request(id: string, reason: string, held: boolean): boolean {
		if (this._claims.has(id)) {
			return this.ask(id, reason);
		}
		if (held) {
			this.keepForRun(id, reason);
		}
		return false;
	}

	/**
	 * Forget every run (the runner is abandoned), each claimed task first given to release.
	 * @param release Releases a claim.
	 */
	public clear(release: (id: string) => void): void {
		for (const id of this._claims) {
			release(id);
		}
		this._claims.clear();
		this._decided.clear();
		this._reasons.clear();
		this._held.clear();
	}
}
