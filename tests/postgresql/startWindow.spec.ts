// A task claimed while start() is still under way must be run. start() opens the source (from
// then on a create or another node's notice wakes a scan, which claims), then sweeps, then scans
// every type. It used to forget its queues after the sweep, so a task a wake-up had claimed and
// queued during the sweep stayed claimed here, its lease renewed by the heartbeat, and ran only
// when the local queue's time to live (5 minutes) gave it back. Seen as three tasks stranded on a
// node in multinode/leases (docs/reliability.md). Here the sweep is held open on purpose, so the
// claim lands inside that window every run.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TaskStatus } from "@twin.org/background-task-models";
import { expect, test } from "vitest";
import type { ITaskSource } from "../../src/contracts/ITaskSource.js";
import { CONTRACT_HANDLERS } from "../contract/storageContract.js";
import { createConnector, waitFor, waitForStatus } from "../helpers/harness.js";
import { useScratchDirs, useSources } from "./helpers.js";

const pg = useSources();
const scratchDir = useScratchDirs("start-window-");

test("a task claimed by a wake-up while start() sweeps is run, not left held", async () => {
	const dir = scratchDir();
	const { connector, start } = createConnector({
		executionMode: "inline",
		postgresql: pg.config()
	});
	// The first sweep (start()'s) waits for `release`.
	const source = (connector as unknown as { _source: ITaskSource })._source;
	const sweep = source.sweep.bind(source);
	let sweeping = false;
	let release: () => void = () => {};
	const gate = new Promise<void>(resolve => (release = resolve));
	let sweeps = 0;
	source.sweep = async (...args: Parameters<ITaskSource["sweep"]>) => {
		if (sweeps++ === 0) {
			sweeping = true;
			await gate;
		}
		return sweep(...args);
	};
	await connector.registerHandler("start-window", CONTRACT_HANDLERS, "waitForRelease");
	const started = start();
	await waitFor(() => sweeping || undefined, 10000, "start() to reach its sweep");

	// Created now, each wakes a scan that claims it: the first takes the type's one slot, the
	// second waits in the queue behind it.
	const first = { started: join(dir, "first-started"), release: join(dir, "first-release") };
	const second = { started: join(dir, "second-started"), release: join(dir, "second-release") };
	writeFileSync(second.release, "go");
	const firstId = await connector.create("start-window", first, { retainFor: -1 });
	await waitFor(() => existsSync(first.started) || undefined, 10000, "the first task to start");
	const secondId = await connector.create("start-window", second, { retainFor: -1 });
	await waitForStatus(connector, secondId, [TaskStatus.Processing], 10000);
	expect(existsSync(second.started), "the second task waits behind the first").toBe(false);

	release();
	await started;
	writeFileSync(first.release, "go");
	await waitForStatus(connector, firstId, [TaskStatus.Success], 10000);
	const task = await waitForStatus(connector, secondId, [TaskStatus.Success], 10000);
	expect(task.result).toEqual({ released: true });
});
