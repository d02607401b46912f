// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Heap } from "heap-js";
import type { BackgroundTask } from "../domain/backgroundTask.js";
import { dueAt } from "../domain/rules.js";
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";

/**
 * What the scheduler keeps in memory about a task it may run: enough to order it, nothing else.
 */
export interface ITaskRef {
	/**
	 * The task id.
	 */
	id: string;

	/**
	 * When it is due, epoch ms.
	 */
	due: number;

	/**
	 * When it was created, epoch ms (tie-break).
	 */
	created: number;

	/**
	 * Insertion order (last tie-break), so tasks created in one millisecond keep their order.
	 */
	seq: number;

	/**
	 * Among due tasks, higher first (absent in storage: 0).
	 */
	priority: number;
}

/**
 * The in-memory view of one type's runnable tasks: two heaps, one of tasks not yet due (by due
 * time, creation time, insertion order) and one of due tasks (by priority, higher first, then
 * the same order). With every priority 0 (the default), tasks start in due order as before.
 *
 * The view may be partial. `horizon` says how far it is complete: every active task of this type
 * with due <= horizon is either queued or running. A full scan sets it to Infinity; a scan that
 * stopped at its batch size sets it to the last due time it saw. A task created with a due time
 * beyond the horizon is left for the next refill scan, so a large backlog in storage is never
 * overtaken by newer tasks and never loaded into memory at once.
 *
 * Re-queuing a task (a retry, or a retry() call making it due now) pushes a new ref; the old one
 * stays in the heap but is stale (no longer the live ref for that id) and is skipped when popped.
 */
export class TaskQueue {
	/**
	 * The handler of the type; replaced when the type is registered again.
	 */
	public handler: IRegisteredHandler;

	/**
	 * Every active task of the type with due <= horizon is queued or running.
	 */
	public horizon = Number.NEGATIVE_INFINITY;

	/**
	 * Ids taken from the queue and not yet finished. Shared with the type's earlier queue when the
	 * type is registered again while tasks of it still run (see the constructor).
	 */
	public readonly running: Set<string>;

	/**
	 * When a task of this type last started, epoch ms.
	 */
	public lastStart = Number.NEGATIVE_INFINITY;

	/**
	 * When the type's recent starts happened, ascending, epoch ms: the sliding window of its rate
	 * limit (kept only when it has one).
	 */
	public readonly recentStarts: number[] = [];

	/**
	 * The scans of this type in flight: at most one, except claims on a shared database, which
	 * overlap (TaskFeed.CLAIMS_IN_FLIGHT).
	 */
	public scans = 0;

	/**
	 * How many tasks the claims in flight asked for: room in the bounded local queue they may fill.
	 */
	public asked = 0;

	/**
	 * True while a scan for this type is in flight.
	 * @returns Whether one is.
	 */
	public get scanning(): boolean {
		return this.scans > 0;
	}

	/**
	 * A scan was asked for while one was in flight: run another when it ends (a wake-up from
	 * another node may concern tasks the scan in flight did not see).
	 */
	public rescan = false;

	/**
	 * Tasks made due while a scan was in flight: the scan's result may predate them, so they are
	 * queued once the scan has set the new horizon.
	 */
	public readonly arrivedDuringScan: ITaskRef[] = [];

	/**
	 * Tasks made due (retry()) while they were running: queued when their run ends.
	 */
	public readonly dueWhileRunning = new Map<string, ITaskRef>();

	/**
	 * Consecutive failed scans, for their backoff.
	 */
	public scanFailures = 0;

	/**
	 * No refill scan before this time, epoch ms (backoff after a failed scan).
	 */
	public scanRetryAt = 0;

	/**
	 * Tasks not yet due (heap-js), ordered by due, then created, then insertion.
	 * @internal
	 */
	private readonly _waiting = new Heap<ITaskRef>(compare);

	/**
	 * Due tasks (heap-js), ordered by priority (higher first), then as _waiting. A task moves here
	 * from _waiting when it falls due, so a high priority not yet due never holds back a due task.
	 * @internal
	 */
	private readonly _ready = new Heap<ITaskRef>(compareReady);

	/**
	 * The live ref of each queued id.
	 * @internal
	 */
	private readonly _live = new Map<string, ITaskRef>();

	/**
	 * Create a new TaskQueue.
	 * @param type The task type.
	 * @param handler The handler of the type.
	 * @param running The running set of the type's previous queue, when the type was unregistered
	 * while tasks of it ran: they must not be claimed again nor exceed the concurrency.
	 */
	constructor(
		public readonly type: string,
		handler: IRegisteredHandler,
		running?: Set<string>
	) {
		this.handler = handler;
		this.running = running ?? new Set<string>();
	}

	/**
	 * The number of live queued tasks.
	 * @returns The count.
	 */
	public get size(): number {
		return this._live.size;
	}

	/**
	 * Is the task queued or running.
	 * @param id The task id.
	 * @returns True if known.
	 */
	public has(id: string): boolean {
		return this._live.has(id) || this.running.has(id);
	}

	/**
	 * Queue a task, replacing any earlier ref of the same id.
	 * @param ref The task ref.
	 */
	public push(ref: ITaskRef): void {
		this._live.set(ref.id, ref);
		if (ref.due <= Date.now()) {
			this._ready.push(ref);
		} else {
			this._waiting.push(ref);
		}
	}

	/**
	 * The task to start next: the highest priority among the due ones, else the earliest due,
	 * without removing it.
	 * @param now The current time, epoch ms.
	 * @returns The task, or undefined when none is queued.
	 */
	public peek(now: number = Date.now()): ITaskRef | undefined {
		let waiting = this.top(this._waiting);
		while (waiting && waiting.due <= now) {
			this._waiting.pop();
			this._ready.push(waiting);
			waiting = this.top(this._waiting);
		}
		return this.top(this._ready) ?? waiting;
	}

	/**
	 * Take the earliest live task and mark it running.
	 * @returns The ref or undefined.
	 */
	public take(now: number = Date.now()): ITaskRef | undefined {
		const ref = this.peek(now);
		if (ref) {
			(this._ready.peek() === ref ? this._ready : this._waiting).pop();
			this._live.delete(ref.id);
			this.running.add(ref.id);
		}
		return ref;
	}

	/**
	 * The live top of a heap, dropping stale refs (replaced or dropped) on the way.
	 * @param heap The heap.
	 * @returns The live top.
	 * @internal
	 */
	private top(heap: Heap<ITaskRef>): ITaskRef | undefined {
		let top = heap.peek();
		while (top && this._live.get(top.id) !== top) {
			heap.pop();
			top = heap.peek();
		}
		return top;
	}

	/**
	 * The ids of the queued tasks (not the running ones).
	 * @returns The ids.
	 */
	public ids(): string[] {
		return [...this._live.keys()];
	}

	/**
	 * Forget a queued task (cancelled or removed).
	 * @param id The task id.
	 */
	public drop(id: string): void {
		this._live.delete(id);
	}

	/**
	 * Forget everything (used when the scheduler restarts: storage is the source of truth).
	 */
	public clear(): void {
		this._waiting.clear();
		this._ready.clear();
		this._live.clear();
		this.running.clear();
		this.arrivedDuringScan.length = 0;
		this.dueWhileRunning.clear();
		this.scanFailures = 0;
		this.scanRetryAt = 0;
		this.rescan = false;
		this.horizon = Number.NEGATIVE_INFINITY;
		this.lastStart = Number.NEGATIVE_INFINITY;
	}
}

/**
 * The queue order: due, then created, then insertion.
 * @param a One ref.
 * @param b Another ref.
 * @returns Negative if a goes first.
 */
function compare(a: ITaskRef, b: ITaskRef): number {
	return a.due - b.due || a.created - b.created || a.seq - b.seq;
}

/**
 * The order of due tasks: priority (higher first), then the queue order.
 * @param a A task.
 * @param b Another task.
 * @returns Negative when a goes first.
 */
function compareReady(a: ITaskRef, b: ITaskRef): number {
	return b.priority - a.priority || compare(a, b);
}

/**
 * Insertion counter for queue order.
 */
let nextSeq = 0;

/**
 * The in-memory ref of a task.
 * @param task The task (its id, due and creation dates).
 * @returns The ref.
 */
export function toRef(
	task: Pick<BackgroundTask, "id" | "dateNextProcess" | "dateCreated" | "priority">
): ITaskRef {
	return {
		id: task.id,
		due: dueAt(task),
		created: Date.parse(task.dateCreated),
		seq: nextSeq++,
		priority: task.priority ?? 0
	};
}
