// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { Heap } from "heap-js";
import { compareReady, compareWaiting, type ITaskRef } from "./taskRef.js";

/**
 * One type's queued tasks in start order, as two heaps: tasks not yet due (by due time, creation
 * time, insertion order) and due tasks (by priority, higher first, then the same order). With
 * every priority 0 (the default), tasks start in due order.
 *
 * Queuing a task again (a retry, or a retry() call making it due now) pushes a new ref; the old
 * one stays in its heap but is stale (no longer the live ref for that id) and is skipped when it
 * reaches the top.
 */
export class QueuedRefs {
	/**
	 * Tasks not yet due, ordered by due, then created, then insertion.
	 * @internal
	 */
	private readonly _waiting = new Heap<ITaskRef>(compareWaiting);

	/**
	 * Due tasks, ordered by priority (higher first), then as _waiting. A task moves here from
	 * _waiting when it falls due, so a high priority not yet due never holds back a due task.
	 * @internal
	 */
	private readonly _ready = new Heap<ITaskRef>(compareReady);

	/**
	 * The live ref of each queued id.
	 * @internal
	 */
	private readonly _live = new Map<string, ITaskRef>();

	/**
	 * The number of live queued tasks.
	 * @returns The count.
	 */
	public get size(): number {
		return this._live.size;
	}

	/**
	 * Is the task queued.
	 * @param id The task id.
	 * @returns True if queued.
	 */
	public has(id: string): boolean {
		return this._live.has(id);
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
	public peek(now: number): ITaskRef | undefined {
		let waiting = this.top(this._waiting);
		while (waiting && waiting.due <= now) {
			this._waiting.pop();
			this._ready.push(waiting);
			waiting = this.top(this._waiting);
		}
		return this.top(this._ready) ?? waiting;
	}

	/**
	 * Remove and return the task to start next.
	 * @param now The current time, epoch ms.
	 * @returns The ref, or undefined when none is queued.
	 */
	public take(now: number): ITaskRef | undefined {
		const ref = this.peek(now);
		if (ref) {
			(this._ready.peek() === ref ? this._ready : this._waiting).pop();
			this._live.delete(ref.id);
		}
		return ref;
	}

	/**
	 * The ids of the queued tasks.
	 * @returns The ids.
	 */
	public ids(): string[] {
		return [...this._live.keys()];
	}

	/**
	 * Forget a queued task.
	 * @param id The task id.
	 */
	public drop(id: string): void {
		this._live.delete(id);
	}

	/**
	 * Forget every queued task.
	 */
	public clear(): void {
		this._waiting.clear();
		this._ready.clear();
		this._live.clear();
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
}
