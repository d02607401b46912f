// Shared test harness: a fresh real in-memory storage per connector, bounded polling, fixtures.
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import {
	EntityStorageConnectorFactory,
	type IEntityStorageConnector
} from "@twin.org/entity-storage-models";
import { afterEach } from "vitest";
import {
	EntityStorageBackgroundTaskConnector,
	initSchema,
	type BackgroundTask,
	type IBackgroundTaskWithProgress,
	type IEntityStorageBackgroundTaskConnectorConfig,
	type IEntityStorageBackgroundTaskConnectorConstructorOptions
} from "../../src/index.js";

initSchema();

/**
 * The handler fixtures module, as a file URL.
 */
export const HANDLERS = new URL("../fixtures/handlers.mjs", import.meta.url).href;

let storageCount = 0;
const started: EntityStorageBackgroundTaskConnector[] = [];

afterEach(async () => {
	await Promise.all(started.splice(0).map(c => c.stop("test")));
});

/**
 * Register a fresh storage (the real in-memory connector unless one is given) under a unique name.
 * @param storage The storage connector to register.
 * @returns The storage type name and the connector.
 */
export function registerStorage(storage?: IEntityStorageConnector<BackgroundTask>): {
	storageType: string;
	storage: IEntityStorageConnector<BackgroundTask>;
} {
	const storageType = `background-task-test-${++storageCount}`;
	const connector =
		storage ?? new MemoryEntityStorageConnector<BackgroundTask>({ entitySchema: "BackgroundTask" });
	EntityStorageConnectorFactory.register(storageType, () => connector);
	return { storageType, storage: connector };
}

/**
 * Create a connector over a fresh in-memory storage. Connectors started through `start()` here
 * are stopped after each test.
 * @param config The connector config.
 * @param storage The storage connector to use instead of a fresh in-memory one.
 * @param logging The logging options of the constructor (a logging connector or component name).
 * @returns The connector, its storage, and start.
 */
export function createConnector(
	config?: IEntityStorageBackgroundTaskConnectorConfig,
	storage?: IEntityStorageConnector<BackgroundTask>,
	logging?: Pick<
		IEntityStorageBackgroundTaskConnectorConstructorOptions,
		"loggingConnectorType" | "loggingComponentType"
	>
): {
	connector: EntityStorageBackgroundTaskConnector;
	storage: IEntityStorageConnector<BackgroundTask>;
	storageType: string;
	start: () => Promise<void>;
} {
	const registered = registerStorage(storage);
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: registered.storageType,
		...logging,
		config
	});
	return {
		connector,
		...registered,
		start: async () => {
			started.push(connector);
			await connector.start("test");
		}
	};
}

/**
 * The first pause between two checks of waitFor, ms; each pause after it is half as long again,
 * up to WAIT_LONGEST_PAUSE_MS.
 */
const WAIT_FIRST_PAUSE_MS = 5;

/**
 * The longest pause between two checks of waitFor, ms. A check on a server's store is a request
 * (on DynamoDB a new SDK client too), so a long wait checked every 5 ms cost more CPU than the
 * test's own work.
 */
const WAIT_LONGEST_PAUSE_MS = 25;

/**
 * Poll until the check returns a value other than undefined/false, or fail after the bound.
 * @param check The check.
 * @param timeoutMs The bound.
 * @param what A description for the failure message.
 * @returns The value returned by the check.
 */
export async function waitFor<T>(
	check: () => T | Promise<T>,
	timeoutMs = 10000,
	what = "condition"
): Promise<Exclude<T, undefined | false>> {
	const deadline = Date.now() + timeoutMs;
	let pause = WAIT_FIRST_PAUSE_MS;
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) {
			return value as Exclude<T, undefined | false>;
		}
		if (Date.now() > deadline) {
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		}
		await new Promise(resolve => setTimeout(resolve, pause));
		pause = Math.min(pause * 1.5, WAIT_LONGEST_PAUSE_MS);
	}
}

/**
 * Wait until a task reaches one of the statuses.
 * @param connector The connector.
 * @param id The task id.
 * @param statuses The statuses.
 * @param timeoutMs The bound.
 * @returns The task.
 */
export async function waitForStatus(
	connector: EntityStorageBackgroundTaskConnector,
	id: string,
	statuses: string[],
	timeoutMs = 10000
): Promise<IBackgroundTaskWithProgress> {
	return waitFor(
		async () => {
			const task = await connector.get(id);
			return task && statuses.includes(task.status) ? task : undefined;
		},
		timeoutMs,
		`task ${id} to reach ${statuses.join("/")}`
	);
}
