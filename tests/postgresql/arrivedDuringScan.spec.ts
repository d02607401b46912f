// A task queued here while a claim was in flight must not overwrite the claim made of it since.
// Found as a flake of the native contract's startAfter test (1 run in 3 of its file): a task
// created with a far startAfter while a claim was in flight was put aside until that claim ended;
// retry() made it due and a second claim took it; then the first claim ended and its put-aside
// ref (due in an hour) replaced the claimed one, so the task stayed held and queued for an hour.
// Here the first claim is held open on purpose and the type's one slot is busy, so the order is
// forced every run.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { expect, test } from "vitest";
import type { ITaskSource } from "../../src/contracts/ITaskSource.js";
import { CONTRACT_HANDLERS } from "../contract/storageContract.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { useScratchDirs, useSources } from "./helpers.js";

const pg = useSources();
const scratchDir = useScratchDirs("arrived-");

test("a claim made while an older claim was in flight is not replaced by a ref queued before it", async () => {
	const dir = scratchDir();
	const server = pg.server();
	const { connector, start } = createConnector({
		executionMode: "inline",
		pollInterval: 100,
		postgresql: {
			host: server.host,
			port: server.port,
			user: server.user,
			password: "trust",
			database: server.database,
			tableName: pg.table()
		}
	});
	// Claims (fetch) pass through, except that while `hold` is set a claim's answer is kept until
	// `release` is called.
	const source = (connector as unknown as { _source: ITaskSource })._source;
	const fetch = source.fetch.bind(source);
	let hold = false;
	let held = 0;
	let release: () => void = () => {};
	const gate = new Promise<void>(resolve => (release = resolve));
	source.fetch = async (...args: Parameters<ITaskSource["fetch"]>) => {
		const answer = await fetch(...args);
		if (hold) {
			held++;
			await gate;
		}
		return answer;
	};
	await connector.registerHandler("arrived", CONTRACT_HANDLERS, "waitForRelease");
	await start();

	// The type's one slot is busy until the blocker is released.
	const blocker = {
		started: join(dir, "blocker-started"),
		release: join(dir, "blocker-release")
	};
	const blockerId = await connector.create("arrived", blocker, { retainFor: -1 });
	await waitFor(() => existsSync(blocker.started) || undefined, 10000, "the blocker to start");

	// A claim (the poll's) in flight and held open.
	hold = true;
	await waitFor(() => held > 0 || undefined, 10000, "a claim to be held open");
	hold = false;
	// Queued aside while that claim is in flight: due in an hour.
	const later = { started: join(dir, "later-started"), release: join(dir, "later-release") };
	writeFileSync(later.release, "go");
	const laterId = await connector.create("arrived", later, {
		startAfter: 3_600_000,
		retainFor: -1
	});
	// Due now, and claimed by a second claim while the first is still held.
	await connector.retry(laterId);
	await waitFor(
		async () =>
			(await connector.get(laterId))?.status === TaskStatus.Processing ? true : undefined,
		10000,
		"the second claim to take the retried task"
	);
	release();
	writeFileSync(blocker.release, "go");
	await waitForStatus(connector, blockerId, [TaskStatus.Success]);
	const task = await waitForStatus(connector, laterId, [TaskStatus.Success], 5000);
	expect(task.result).toEqual({ released: true });
});
