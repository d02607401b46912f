// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskRunner } from "./taskRunner.js";
import { unexpectedTransition } from "./transitionError.js";

/**
 * Where the scheduler is in its lifecycle:
 * - `stopped`: nothing runs, no timer is armed;
 * - `opening`: start() is opening the source; tasks made due here are queued and run, but
 *   wake-ups and scans wait until the source is open;
 * - `started`: the source is open; everything runs;
 * - `stopping`: stop() is waiting for running tasks; nothing new starts.
 */
export type SchedulerPhase = "stopped" | "opening" | "started" | "stopping";

/**
 * The scheduler's phase, its session (one start..stop) and the session's runner. Only the
 * scheduler's start() and stop() change it; every other part reads it.
 *
 * A run abandoned by stop() can still settle after a later start() (inline mode: its handler
 * cannot be terminated); its bookkeeping belongs to its own session and must not touch the new
 * session's queues or in-flight count, or the new session would forget that it is running the
 * recovered task and claim it again. The session number tells the two apart.
 */
export class SchedulerLifecycle {
	/**
	 * The phase.
	 * @internal
	 */
	private _phase: SchedulerPhase = "stopped";

	/**
	 * The number of the current session.
	 * @internal
	 */
	private _session = 0;

	/**
	 * Runs one task from claim to record, for the current session.
	 * @internal
	 */
	private _runner?: TaskRunner;

	/**
	 * The phase.
	 * @returns The phase.
	 */
	public get phase(): SchedulerPhase {
		return this._phase;
	}

	/**
	 * Whether tasks are taken and run: between start() and stop().
	 * @returns True while opening or started.
	 */
	public get started(): boolean {
		return this._phase === "opening" || this._phase === "started";
	}

	/**
	 * Whether the source is open for this session (wake-ups and scans before that are answered by
	 * start's scans).
	 * @returns True once started.
	 */
	public get sourceOpen(): boolean {
		return this._phase === "started";
	}

	/**
	 * The number of the current session.
	 * @returns The number.
	 */
	public get session(): number {
		return this._session;
	}

	/**
	 * The current session's runner.
	 * @returns The runner, undefined when stopped.
	 */
	public get runner(): TaskRunner | undefined {
		return this._runner;
	}

	/**
	 * Whether a session is the current one and started (no stop() began since).
	 * @param session The session.
	 * @returns True if so.
	 */
	public isStarted(session: number): boolean {
		return session === this._session && this._phase === "started";
	}

	/**
	 * start() begins a session: stopped to opening.
	 * @param runner The session's runner.
	 * @returns The new session's number.
	 */
	public open(runner: TaskRunner): number {
		this.expect("stopped", "opening");
		this._phase = "opening";
		this._runner = runner;
		return ++this._session;
	}

	/**
	 * The source opened: opening to started, unless stop() began meanwhile (it then ends the
	 * session).
	 * @param session The session that opened it.
	 */
	public opened(session: number): void {
		if (session === this._session && this._phase === "opening") {
			this._phase = "started";
		}
	}

	/**
	 * The source could not be opened: opening to stopped, nothing having started. A stop() that
	 * began meanwhile ends the session itself.
	 * @param session The session that tried.
	 */
	public openFailed(session: number): void {
		if (session === this._session && this._phase === "opening") {
			this._phase = "stopped";
			this._runner = undefined;
		}
	}

	/**
	 * stop() begins: opening or started to stopping.
	 */
	public beginStop(): void {
		if (!this.started) {
			throw unexpectedTransition("scheduler", this._phase, "stopping");
		}
		this._phase = "stopping";
	}

	/**
	 * stop() has ended the session: stopping to stopped.
	 */
	public stopped(): void {
		this.expect("stopping", "stopped");
		this._phase = "stopped";
		this._runner = undefined;
	}

	/**
	 * Throw an internal error unless the phase is the one a transition starts from.
	 * @param from The phase expected.
	 * @param to The phase asked for.
	 * @internal
	 */
	private expect(from: SchedulerPhase, to: SchedulerPhase): void {
		if (this._phase !== from) {
			throw unexpectedTransition("scheduler", this._phase, to);
		}
	}
}
