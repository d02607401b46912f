// Paused types on the native backend, at the source (issue 22, item 3): stored in the paused
// table beside the task table, which every claim statement reads, so a node that never heard of a
// pause claims nothing of the type; announced to every node in commit order; read at open and
// again when a dropped LISTEN comes back. The scheduler's side is in the queue contract
// (tests/contract/pauseContract.ts) and across two nodes in queueCluster.spec.ts.
import { describe, expect, test } from "vitest";
import { channelName, pausedTableName } from "../../src/store/postgresql/postgresNames.js";
import { waitFor } from "../helpers/harness.js";
import { newTask, SHORT_LEASE, useSources } from "./helpers.js";

const pg = useSources();

/**
 * The quoted paused table of the test's task table.
 * @returns The name.
 */
function pausedTable(): string {
	return `"${pausedTableName(pg.table())}"`;
}

describe("paused types (native backend)", () => {
	test("no claim takes a paused type's task, by batch or by id, serial or not, on a node that never heard of the pause", async () => {
		const a = await pg.open();
		const b = await pg.open();
		const plain = [newTask({ type: "held-back" }), newTask({ type: "held-back" })];
		const serial = newTask({ type: "held-serial" });
		await a.source.insertMany([...plain, serial]);
		await b.source.pause("held-back");
		await b.source.pause("held-serial");
		// a's view of the pauses is left out: only the statements decide here.
		expect(await a.source.fetch("held-back", "main", 10, 0)).toEqual({ tasks: [], complete: true });
		expect(await a.source.claim(plain[0].id, "main", 0)).toEqual({});
		expect((await a.source.fetch("held-serial", "main", 1, 0, true)).tasks).toEqual([]);
		expect(await a.source.claim(serial.id, "main", 0, true)).toEqual({});
		expect((await a.source.get(plain[0].id))?.status).toBe("pending");

		await b.source.resume("held-back");
		await b.source.resume("held-serial");
		expect((await a.source.claim(plain[0].id, "main", 0)).claimed?.id).toBe(plain[0].id);
		expect((await a.source.fetch("held-back", "main", 10, 0)).tasks.map(t => t.id)).toEqual([
			plain[1].id
		]);
		expect((await a.source.fetch("held-serial", "main", 1, 0, true)).tasks.map(t => t.id)).toEqual([
			serial.id
		]);
	});

	test("a pause or resume that changes something is announced once, in commit order, and every open node is told; a node opened later reads the stored ones", async () => {
		const raw: string[] = [];
		const listening = await pg
			.server()
			.sql.listen(channelName(pg.table()), payload => raw.push(payload));
		const a = await pg.open();
		const b = await pg.open();
		const sender = b.source.instanceId;
		await b.source.pause("x");
		// Already paused, or not paused: nothing stored, nothing announced.
		await b.source.pause("x");
		await b.source.resume("x");
		await b.source.resume("never");
		await b.source.pause("y");
		// Node a and this test's own listener hear each notification on separate connections.
		await waitFor(
			() => a.paused.length >= 3 && raw.length >= 3,
			5000,
			"a and the listener to hear of the pauses and the resume"
		);
		expect(a.paused).toEqual([
			["x", true],
			["x", false],
			["y", true]
		]);
		expect(raw).toEqual([`${sender}/pause:x`, `${sender}/resume:x`, `${sender}/pause:y`]);

		await a.source.pause("z");
		const c = await pg.open();
		expect(c.paused.sort()).toEqual([
			["y", true],
			["z", true]
		]);
		expect(await c.source.pausedTypes()).toEqual(["y", "z"]);
		await listening.unlisten();
	});

	test("a node whose LISTEN dropped reads the paused types again when it comes back", async () => {
		const a = await pg.open({}, SHORT_LEASE);
		await a.source.pause("kept");
		// Written without a notice, as if a's LISTEN was down when another node paused and resumed.
		await pg.server().sql.unsafe(`INSERT INTO ${pausedTable()} ("type") VALUES ('missed')`);
		await pg.server().sql.unsafe(`DELETE FROM ${pausedTable()} WHERE "type" = 'kept'`);
		a.paused.length = 0;
		await pg.server().sql.unsafe(
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`
		);
		await waitFor(() => a.paused.length >= 2, 5000, "a to read the paused types again");
		expect(a.paused.sort()).toEqual([
			["kept", false],
			["missed", true]
		]);
	});

	test("start() adds the paused table beside a task table made without it", async () => {
		const a = await pg.open();
		await a.source.close();
		await pg.server().sql.unsafe(`DROP TABLE ${pausedTable()}`);
		const b = await pg.open();
		await b.source.pause("after-upgrade");
		expect(await b.source.pausedTypes()).toEqual(["after-upgrade"]);
	});
});
