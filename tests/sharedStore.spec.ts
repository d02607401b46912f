// Over entity storage, one connector instance per store is safe (the interface has no atomic
// compare-and-set). A second instance on the same store is detected from its traces and reported
// once as a warning that names the fix, without changing anything stored; one instance alone,
// however busy, never reports it.
import { readFileSync } from "node:fs";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { LoggingConnectorFactory, type ILogEntry } from "@twin.org/logging-models";
import { describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector, type BackgroundTask } from "../src/index.js";
import { registerStorage, waitFor } from "./helpers/harness.js";

const LOCALE = new URL("../locales/en.json", import.meta.url);
const SLEEP = new URL("./fixtures/sleepHandler.mjs", import.meta.url).href;

let loggerCount = 0;

/**
 * A started connector on the given storage, logging to its own recording logging connector.
 * @param storageType The registered storage.
 * @returns The connector and its log entries.
 */
async function startNode(
	storageType: string
): Promise<{ connector: EntityStorageBackgroundTaskConnector; entries: ILogEntry[] }> {
	const loggingConnectorType = `shared-store-logging-${++loggerCount}`;
	const entries: ILogEntry[] = [];
	LoggingConnectorFactory.register(loggingConnectorType, () => ({
		CLASS_NAME: "RecordingLoggingConnector",
		log: async (entry: ILogEntry) => {
			entries.push(entry);
		}
	}));
	const connector = new EntityStorageBackgroundTaskConnector({
		backgroundTaskEntityStorageType: storageType,
		loggingConnectorType,
		config: { executionMode: "inline", concurrency: 4, pollInterval: 100 }
	});
	await connector.registerHandler("work", SLEEP, "sleepFor");
	await connector.start("test");
	return { connector, entries };
}

/**
 * The sharedStore warnings among entries.
 * @param entries The entries.
 * @returns The warnings.
 */
function sharedWarnings(entries: ILogEntry[]): ILogEntry[] {
	return entries.filter(e => e.message === "sharedStore");
}

describe("a second instance on one entity store", () => {
	test("two connectors on one store: a warning names the problem once, stored fields unchanged", async () => {
		const storage = new MemoryEntityStorageConnector<BackgroundTask>({
			entitySchema: "BackgroundTask"
		});
		const { storageType } = registerStorage(storage);
		const a = await startNode(storageType);
		const b = await startNode(storageType);
		try {
			// Both see every "main" task as theirs; with enough tasks one of them meets the other's
			// claims in its scans or claims.
			for (let i = 0; i < 300; i++) {
				await (i % 2 === 0 ? a : b).connector.create("work", { i, ms: 5 }, { retainFor: -1 });
			}
			const warnings = await waitFor(
				() => {
					const found = [...sharedWarnings(a.entries), ...sharedWarnings(b.entries)];
					return found.length > 0 ? found : undefined;
				},
				15000,
				"a sharedStore warning"
			);
			expect(warnings[0].level).toBe("warn");
			expect(["foreignClaim", "changedUnderneath"]).toContain(warnings[0].data?.sign);
			// It names the id the two share, and the fix.
			expect(warnings[0].data?.instanceId).toBe("main");
			expect(
				JSON.parse(readFileSync(LOCALE, "utf8")).warn.entityStorageBackgroundTaskConnector
					.sharedStore
			).toContain("its own config.instanceId");
			// Once per connector at most.
			expect(sharedWarnings(a.entries).length).toBeLessThanOrEqual(1);
			expect(sharedWarnings(b.entries).length).toBeLessThanOrEqual(1);
			// Nothing the original relies on was changed: every task completes as usual.
			await waitFor(
				async () => {
					const { entities } = await a.connector.query(
						"work",
						"success",
						undefined,
						undefined,
						undefined,
						1000
					);
					return entities.length === 300;
				},
				20000,
				"every task to succeed"
			);
			const stored = (await storage.query()).entities;
			for (const task of stored) {
				expect(Object.keys(task).sort()).not.toContain("leaseOwner");
				expect(task.threadId).toBe("main");
			}
		} finally {
			await a.connector.stop("test");
			await b.connector.stop("test");
		}
	});

	test("one busy connector alone never reports a second instance", async () => {
		const { storageType } = registerStorage();
		const a = await startNode(storageType);
		try {
			const ids: string[] = [];
			for (let i = 0; i < 300; i++) {
				ids.push(await a.connector.create("work", { i, ms: 5 }, { retainFor: -1 }));
			}
			await waitFor(
				async () => {
					const { entities } = await a.connector.query(
						"work",
						"success",
						undefined,
						undefined,
						undefined,
						1000
					);
					return entities.length === ids.length;
				},
				20000,
				"every task to succeed"
			);
			expect(sharedWarnings(a.entries)).toEqual([]);
		} finally {
			await a.connector.stop("test");
		}
	});
});
