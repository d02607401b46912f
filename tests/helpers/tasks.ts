// Helpers for tests that put tasks into storage directly (storage is the source of truth) and
// inspect what was written. Everything read from the in-memory connector is copied, because it
// hands out live references.
import { TaskStatus } from "@twin.org/background-task-models";
import type { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../src/index.js";

/**
 * The URN prefix of this connector's task ids.
 */
export const URN_PREFIX = "background-task:entity-storage:";

let seedCount = 0;

/**
 * A valid stored task with defaults (pending, due at its creation date, this thread's).
 * @param overrides Fields to set; a field set to undefined is left out.
 * @returns A fresh entity.
 */
export function taskEntity(overrides: Partial<BackgroundTask> = {}): BackgroundTask {
	const id = (++seedCount).toString(16).padStart(32, "0");
	const task: BackgroundTask = {
		id,
		type: "seeded",
		threadId: "main",
		dateCreated: "2026-01-01T00:00:00.000Z",
		dateModified: "2026-01-01T00:00:00.000Z",
		dateNextProcess: "2026-01-01T00:00:00.000Z",
		status: TaskStatus.Pending,
		retainFor: 0,
		...overrides
	};
	for (const key of Object.keys(task) as (keyof BackgroundTask)[]) {
		if (task[key] === undefined) {
			delete task[key];
		}
	}
	return task;
}

/**
 * Write tasks straight into storage (copies, so the caller's objects stay its own).
 * @param storage The storage.
 * @param tasks The tasks.
 * @returns The URNs of the tasks, in order.
 */
export async function seed(
	storage: IEntityStorageConnector<BackgroundTask>,
	...tasks: BackgroundTask[]
): Promise<string[]> {
	for (const task of tasks) {
		await storage.set(structuredClone(task));
	}
	return tasks.map(t => `${URN_PREFIX}${t.id}`);
}

/**
 * Read a task straight from storage, as a copy.
 * @param storage The storage.
 * @param idOrUrn The storage id or the URN.
 * @returns The copy, or undefined.
 */
export async function stored(
	storage: IEntityStorageConnector<BackgroundTask>,
	idOrUrn: string
): Promise<BackgroundTask | undefined> {
	const task = await storage.get(storageIdOf(idOrUrn));
	return task === undefined ? undefined : structuredClone(task);
}

/**
 * A deep copy of everything in an in-memory storage, sorted by id.
 * @param storage The in-memory storage.
 * @returns The copy.
 */
export function snapshot(storage: IEntityStorageConnector<BackgroundTask>): BackgroundTask[] {
	return structuredClone((storage as MemoryEntityStorageConnector<BackgroundTask>).getStore()).sort(
		(a, b) => a.id.localeCompare(b.id)
	);
}

/**
 * The storage id of a URN.
 * @param idOrUrn The URN, or already a storage id.
 * @returns The storage id.
 */
export function storageIdOf(idOrUrn: string): string {
	return idOrUrn.startsWith(URN_PREFIX) ? idOrUrn.slice(URN_PREFIX.length) : idOrUrn;
}

/**
 * The error a call throws (or rejects with); fails when it does not throw.
 * @param call The call.
 * @returns The error.
 */
export async function errorOf(call: () => unknown): Promise<
	Error & {
		source?: string;
		properties?: { [key: string]: unknown } & {
			validationFailures?: {
				property: string;
				reason: string;
				properties?: { [key: string]: unknown };
			}[];
		};
	}
> {
	try {
		await call();
	} catch (err) {
		return err as Error;
	}
	throw new Error("expected the call to throw, it did not");
}

/**
 * The property names of a ValidationError's failures.
 * @param err The error.
 * @returns The names, sorted.
 */
export function failedProperties(err: {
	properties?: { validationFailures?: { property: string }[] };
}): string[] {
	return (err.properties?.validationFailures ?? []).map(f => f.property).sort();
}
