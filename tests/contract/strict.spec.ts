// The storage and queue contracts on the strict double (tests/helpers/strictStorage.ts) of the
// connectors that have no server on this machine: MongoDB, Cosmos DB and Firestore. The double
// throws where the real connector cannot go (the message names the rule) and otherwise behaves as
// docs/storage-backends.md records, so a failure here names a call the package makes that the
// real store would refuse or answer differently. ScyllaDB's connector cannot hold tasks at all
// (object columns of strings only, no usable sort): the package refuses it with a clear error.
import { GeneralError } from "@twin.org/core";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../../src/index.js";
import { createConnector } from "../helpers/harness.js";
import { StrictEntityStorageConnector, type StrictProfile } from "../helpers/strictStorage.js";
import { queueContract } from "./queueContract.js";
import { storageContract, type IStorageBackend } from "./storageContract.js";

const PROFILES: StrictProfile[] = ["mongodb", "cosmosdb", "firestore"];

for (const profile of PROFILES) {
	const backend: IStorageBackend = {
		fresh: async () => new StrictEntityStorageConnector<BackgroundTask>({ profile })
	};
	storageContract(`strict ${profile}`, backend);
	queueContract(`strict ${profile}`, backend);
}

describe("strict scylladb", () => {
	test("start() and create() fail with the connector, the reason and the fix; nothing is written", async () => {
		const storage = new StrictEntityStorageConnector<BackgroundTask>({ profile: "scylladb" });
		const { connector, start } = createConnector({ executionMode: "inline" }, storage);
		const failure = async (promise: Promise<unknown>): Promise<GeneralError> => {
			try {
				await promise;
			} catch (err) {
				return err as GeneralError;
			}
			throw new Error("expected a rejection");
		};
		for (const err of [
			await failure(start()),
			await failure(connector.create("scylla", { a: 1 }))
		]) {
			expect(GeneralError.isErrorMessage(err, "entityStorageTaskSource.connectorUnsupported")).toBe(
				true
			);
			expect(err.properties?.connector).toBe("ScyllaDBTableConnector");
			expect(String(err.properties?.reason)).toContain("object columns take only strings");
		}
		const page = await storage.query();
		expect(page.entities).toEqual([]);
	});
});
