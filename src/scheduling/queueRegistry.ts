// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import { TaskQueue } from "./taskQueue.js";

/**
 * The queues of the registered types, in registration order for round-robin.
 *
 * Unregistering a type while tasks of it run keeps their running set: registering the type again
 * gives the new queue the same set, so those tasks are neither queued and claimed again (a
 * processing task is claimable, for recovery) nor left out of the type's concurrency.
 */
export class QueueRegistry {
	/**
	 * The queue of each registered type.
	 * @internal
	 */
	private readonly _queues = new Map<string, TaskQueue>();

	/**
	 * The queues as a list, for round-robin.
	 * @internal
	 */
	private _order: TaskQueue[] = [];

	/**
	 * The running sets of types unregistered in this session.
	 * @internal
	 */
	private readonly _unregisteredRunning = new Map<string, Set<string>>();

	/**
	 * The queues, in registration order.
	 * @returns The queues.
	 */
	public get all(): readonly TaskQueue[] {
		return this._order;
	}

	/**
	 * The queue of a type.
	 * @param type The task type.
	 * @returns The queue, undefined when the type has no handler.
	 */
	public get(type: string): TaskQueue | undefined {
		return this._queues.get(type);
	}

	/**
	 * Whether a type has a handler.
	 * @param type The task type.
	 * @returns True if registered.
	 */
	public has(type: string): boolean {
		return this._queues.has(type);
	}

	/**
	 * Register a type, or replace its handler.
	 * @param type The task type.
	 * @param handler The handler.
	 * @returns The type's new queue, or undefined when it had one (its handler is replaced).
	 */
	public add(type: string, handler: IRegisteredHandler): TaskQueue | undefined {
		const existing = this._queues.get(type);
		if (existing) {
			existing.replaceHandler(handler);
			return undefined;
		}
		const queue = new TaskQueue(type, handler, this._unregisteredRunning.get(type));
		this._unregisteredRunning.delete(type);
		this._queues.set(type, queue);
		this._order = [...this._queues.values()];
		return queue;
	}

	/**
	 * Unregister a type, remembering what of it still runs.
	 * @param type The task type.
	 * @returns The type's queue, or undefined when it had none.
	 */
	public remove(type: string): TaskQueue | undefined {
		const queue = this._queues.get(type);
		if (queue) {
			this._queues.delete(type);
			this._order = [...this._queues.values()];
			const running = queue.stillRunning();
			if (running) {
				this._unregisteredRunning.set(type, running);
			}
		}
		return queue;
	}

	/**
	 * A new session begins from storage: forget the running sets of unregistered types.
	 */
	public forgetUnregistered(): void {
		this._unregisteredRunning.clear();
	}

	/**
	 * The tasks running, all types.
	 * @returns The count.
	 */
	public runningCount(): number {
		let running = 0;
		for (const queue of this._order) {
			running += queue.runningCount;
		}
		return running;
	}

	/**
	 * Forget a queued task, whatever its type (cancelled or removed).
	 * @param id The task id.
	 */
	public drop(id: string): void {
		for (const queue of this._order) {
			queue.drop(id);
		}
	}
}
