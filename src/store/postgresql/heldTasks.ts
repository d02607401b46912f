// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { HeldPhase } from "./heldPhase.js";
import type { IHeldTask } from "./IHeldTask.js";

/**
 * A held task as HeldTasks keeps it.
 */
type HeldRecord = { -readonly [K in keyof IHeldTask]: IHeldTask[K] } & {
	/**
	 * The task as fetch claimed it, kept while it waits to start.
	 */
	row?: BackgroundTask;

	/**
	 * The phase a failed settle returns the task to.
	 */
	settlingFrom?: HeldPhase;

	/**
	 * Whether the settle being written leaves the task final or removed (not pending again).
	 */
	settleFinal?: boolean;
};

/**
 * The phases start accepts; module constants, so a transition's check allocates nothing.
 */
const FROM_START: readonly HeldPhase[] = ["waiting"];

/**
 * The phases reclaimed accepts.
 */
const FROM_RECLAIMED: readonly HeldPhase[] = ["running", "lost", "settling", "removed"];

/**
 * The phases beginSettle accepts.
 */
const FROM_BEGIN_SETTLE: readonly HeldPhase[] = ["waiting", "running", "lost", "settling"];

/**
 * The phases settleFailed and endSettle accept.
 */
const FROM_SETTLE_END: readonly HeldPhase[] = ["settling", "removed"];

/**
 * The tasks this instance holds a lease on, by id: what the heartbeat renews, what settles are
 * fenced with, and what close gives back. Each task's phase (HeldPhase) is changed only by the
 * methods here, each of which asserts the phase it expects:
 * - add: a new record, waiting (claimed by fetch) or running (claimed to run now);
 * - start: waiting -> running;
 * - reclaimed (a fetch took a task running here again, runsHere): running | lost -> running,
 *   settling and removed stay;
 * - leaseGone: waiting -> dropped, running -> lost;
 * - beginSettle: waiting | running | lost -> settling; settleFailed: back to the phase before;
 * - markRemoved: waiting -> dropped, running | lost | settling -> removed;
 * - endSettle: settling | removed -> dropped.
 */
export class HeldTasks {
	/**
	 * The records by task id.
	 * @internal
	 */
	private readonly _tasks = new Map<string, HeldRecord>();

	/**
	 * The record of a task.
	 * @param id The task id.
	 * @returns The record, if held.
	 */
	public get(id: string): IHeldTask | undefined {
		return this._tasks.get(id);
	}

	/**
	 * Hold a task claimed now.
	 * @param task The claimed task (its dateModified is the claim's).
	 * @param owner The lease owner.
	 * @param leaseAt When the claim was sent, performance.now().
	 * @param waiting True when claimed by fetch and not started yet (the task is kept for claim).
	 */
	public add(task: BackgroundTask, owner: string, leaseAt: number, waiting: boolean): void {
		this._tasks.set(task.id, {
			type: task.type,
			owner,
			claimedAt: task.dateModified,
			leaseAt,
			fetchedAt: leaseAt,
			phase: waiting ? "waiting" : "running",
			row: waiting ? task : undefined,
			// Every field from the start: a record gains none later, so its shape never changes.
			settlingFrom: undefined,
			settleFinal: undefined
		});
	}

	/**
	 * Hand out a waiting task to run: waiting -> running.
	 * @param record The record.
	 * @returns The task as claimed.
	 */
	public start(record: IHeldTask): BackgroundTask {
		const held = this.expect(record, "start", FROM_START);
		const row = held.row as BackgroundTask;
		held.row = undefined;
		held.phase = "running";
		return row;
	}

	/**
	 * Whether a task a fetch of this owner has just claimed again is still this instance's run:
	 * held in any phase but waiting, except while a settle that leaves it pending (a retry) is
	 * written, since that settle may have committed before the fetch claimed the task, as its next
	 * run. A settle that makes it final or removes it cannot have: the fetch took the task before
	 * that write, whose old fence then keeps it out.
	 * @param record The record.
	 * @param owner The fetch's lease owner.
	 * @returns True when the run goes on under the new claim (reclaimed), false when the fetched
	 * task is a new run to hold as waiting.
	 */
	public runsHere(record: IHeldTask, owner: string): boolean {
		const held = record as HeldRecord;
		return (
			held.owner === owner &&
			held.phase !== "waiting" &&
			(held.phase !== "settling" || held.settleFinal === true)
		);
	}

	/**
	 * A task running here was claimed again by a fetch (its lease had lapsed; runsHere): the run
	 * goes on under the new claim, and so does a final settle waiting to be written (TaskSettles
	 * writes it again under this claim when the old one's fence keeps it out). running | lost ->
	 * running; settling and removed stay.
	 * @param record The record.
	 * @param claimedAt The new claim's dateModified.
	 * @param leaseAt When the new claim was sent, performance.now().
	 */
	public reclaimed(record: IHeldTask, claimedAt: string, leaseAt: number): void {
		const held = this.expect(record, "reclaimed", FROM_RECLAIMED);
		held.claimedAt = claimedAt;
		held.leaseAt = leaseAt;
		if (held.phase === "lost") {
			held.phase = "running";
		} else if (held.phase === "settling" && held.settlingFrom === "lost") {
			// The lease is this instance's again: renewed while the settle waits.
			held.settlingFrom = "running";
		}
	}

	/**
	 * The lease was renewed.
	 * @param record The record.
	 * @param leaseAt When the renewal was sent, performance.now().
	 */
	public renewed(record: IHeldTask, leaseAt: number): void {
		(record as HeldRecord).leaseAt = leaseAt;
	}

	/**
	 * The lease was found gone: a waiting task is dropped (waiting -> gone), a running one is lost
	 * (running -> lost). A lost task is lost already, a settle clears the lease itself, and a
	 * removal here is no loss: those stay as they are.
	 * @param id The task id.
	 * @param record The record.
	 * @returns True when the loss is news (to be logged once).
	 */
	public leaseGone(id: string, record: IHeldTask): boolean {
		const held = record as HeldRecord;
		if (held.phase === "waiting") {
			held.phase = "lost";
			this.delete(id, held);
			return true;
		}
		if (held.phase === "running") {
			held.phase = "lost";
			return true;
		}
		return false;
	}

	/**
	 * A settle of the task is being written: waiting | running | lost -> settling (a second settle
	 * of a task already settling leaves it so).
	 * @param record The record.
	 * @param final Whether the settle leaves the task final or removes it.
	 */
	public beginSettle(record: IHeldTask, final: boolean): void {
		const held = this.expect(record, "beginSettle", FROM_BEGIN_SETTLE);
		held.settleFinal = final;
		if (held.phase !== "settling") {
			held.settlingFrom = held.phase;
			held.phase = "settling";
		}
	}

	/**
	 * The settle's write failed (it is repeated by the caller): settling -> the phase before it;
	 * removed stays removed.
	 * @param record The record.
	 */
	public settleFailed(record: IHeldTask): void {
		const held = this.expect(record, "settleFailed", FROM_SETTLE_END);
		if (held.phase === "settling") {
			held.phase = held.settlingFrom ?? "running";
		}
	}

	/**
	 * The settle was written (or kept out by the fence): stop holding the task.
	 * @param id The task id.
	 * @param record The record.
	 * @returns "removed" when it was removed here meanwhile, "lost" when its lease was known gone
	 * before the settle, else "held".
	 */
	public endSettle(id: string, record: IHeldTask): "held" | "lost" | "removed" {
		const held = this.expect(record, "endSettle", FROM_SETTLE_END);
		this.delete(id, held);
		if (held.phase === "removed") {
			return "removed";
		}
		return held.settlingFrom === "lost" ? "lost" : "held";
	}

	/**
	 * The task was removed through this instance: a waiting one is dropped, any other is marked
	 * removed (running | lost | settling -> removed), so its settle writes nothing.
	 * @param id The task id.
	 */
	public markRemoved(id: string): void {
		const held = this._tasks.get(id);
		if (held?.phase === "waiting") {
			this.delete(id, held);
		} else if (held) {
			held.phase = "removed";
		}
	}

	/**
	 * Stop holding a task, if this record is still the one held.
	 * @param id The task id.
	 * @param record The record expected, or any when absent.
	 */
	public delete(id: string, record?: IHeldTask): void {
		if (record === undefined || this._tasks.get(id) === record) {
			this._tasks.delete(id);
		}
	}

	/**
	 * Forget every task.
	 */
	public clear(): void {
		this._tasks.clear();
	}

	/**
	 * How many tasks of a type wait to start.
	 * @param type The task type.
	 * @returns The count.
	 */
	public waitingCount(type: string): number {
		let count = 0;
		for (const held of this._tasks.values()) {
			if (held.phase === "waiting" && held.type === type) {
				count++;
			}
		}
		return count;
	}

	/**
	 * The tasks waiting to start, optionally only those waiting longer than a time.
	 * @param olderThan Only those fetched before this performance.now() time.
	 * @returns The ids.
	 */
	public waiting(olderThan = Number.POSITIVE_INFINITY): string[] {
		const ids: string[] = [];
		for (const [id, held] of this._tasks) {
			if (held.phase === "waiting" && held.fetchedAt < olderThan) {
				ids.push(id);
			}
		}
		return ids;
	}

	/**
	 * The tasks whose lease the owner should renew: held under that owner and not known lost
	 * (a lost task's settle, too).
	 * @param owner The lease owner.
	 * @returns The ids.
	 */
	public renewable(owner: string): string[] {
		const ids: string[] = [];
		for (const [id, held] of this._tasks) {
			const lost =
				held.phase === "lost" || (held.phase === "settling" && held.settlingFrom === "lost");
			if (!lost && held.owner === owner) {
				ids.push(id);
			}
		}
		return ids;
	}

	/**
	 * Assert a record's phase before a transition.
	 * @param record The record.
	 * @param transition The transition's name, for the error.
	 * @param phases The phases it may start from.
	 * @returns The record, to change.
	 * @throws Error naming the transition and the phase when the phase is another.
	 * @internal
	 */
	private expect(record: IHeldTask, transition: string, phases: readonly HeldPhase[]): HeldRecord {
		if (!phases.includes(record.phase)) {
			throw new Error(
				`HeldTasks.${transition}: a ${record.type} task ${record.phase}, expected ${phases.join(" or ")}`
			);
		}
		return record as HeldRecord;
	}
}
