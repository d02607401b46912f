// The engine clone data of worker-mode jobs by reference (src/execution/engineClones.ts): when a
// new version is made, what it holds, and what is sent as it is.
import { deserialize } from "node:v8";
import { afterEach, describe, expect, test, vi } from "vitest";
import { ENGINE_CLONE_RECHECK_MS, EngineClones } from "../src/execution/engineClones.js";

/**
 * An engine's clone data as TWIN's EngineCore makes it: its own config, state and type
 * initialisers, and its schemas in a new map on each call.
 * @returns The engine's objects and getCloneData().
 */
function engine(): {
	config: Record<string, unknown>;
	state: Record<string, unknown>;
	schemas: Record<string, unknown>;
	getCloneData: () => Record<string, unknown>;
} {
	const config: Record<string, unknown> = { debug: false, types: { a: [{ type: "x" }] } };
	const state: Record<string, unknown> = { componentStates: {} };
	const typeInitialisers = [{ type: "a", typeConfig: [], module: "m", method: "init" }];
	const schemas: Record<string, unknown> = { A: { properties: [{ property: "id" }] } };
	return {
		config,
		state,
		schemas,
		getCloneData: () => ({
			config,
			state,
			typeInitialisers,
			entitySchemas: { ...schemas },
			loggerTypeName: "node"
		})
	};
}

/**
 * What a reference's shared part holds.
 * @param shared The shared memory.
 * @returns The keys and the fields but state.
 */
function sharedPart(shared: SharedArrayBuffer): {
	keys: string[];
	parts: Record<string, unknown>;
} {
	return deserialize(new Uint8Array(shared));
}

describe("EngineClones", () => {
	afterEach(() => {
		vi.restoreAllMocks();
	});

	test("the first clone data makes version 1: its keys and every field but state, shared", () => {
		const e = engine();
		const ref = new EngineClones().refFor(e.getCloneData());
		expect(ref?.version).toBe(1);
		expect(ref?.state).toBe(e.state);
		const { keys, parts } = sharedPart(ref!.shared);
		expect(keys).toEqual([
			"config",
			"state",
			"typeInitialisers",
			"entitySchemas",
			"loggerTypeName"
		]);
		const { state, ...rest } = e.getCloneData();
		expect(state).toBe(e.state);
		expect(parts).toEqual(rest);
	});

	test("the engine's same objects keep the version, and the jobs share one reference", () => {
		const e = engine();
		const clones = new EngineClones();
		const first = clones.refFor(e.getCloneData());
		// A new map of the same schemas, as EngineCore builds on each call.
		expect(clones.refFor(e.getCloneData())).toBe(first);
		// The state changed in place travels by reference, so every message clones it anew.
		e.state.nodeIdentity = "did:example:1";
		expect(clones.refFor(e.getCloneData())).toBe(first);
	});

	test("a new state object keeps the version and gets a reference of its own", () => {
		const e = engine();
		const clones = new EngineClones();
		const first = clones.refFor(e.getCloneData())!;
		const state = { componentStates: { a: 1 } };
		const next = clones.refFor({ ...e.getCloneData(), state })!;
		expect(next).not.toBe(first);
		expect(next.version).toBe(first.version);
		expect(next.shared).toBe(first.shared);
		expect(next.state).toBe(state);
	});

	test("a field replaced, a schema added or a key added makes a new version", () => {
		const e = engine();
		const clones = new EngineClones();
		const v1 = clones.refFor(e.getCloneData())!;
		const v2 = clones.refFor({ ...e.getCloneData(), config: { debug: true } })!;
		expect(v2.version).toBe(v1.version + 1);
		expect(sharedPart(v2.shared).parts.config).toEqual({ debug: true });
		e.schemas.B = { properties: [] };
		const v3 = clones.refFor(e.getCloneData())!;
		expect(v3.version).toBe(v2.version + 1);
		expect(Object.keys(sharedPart(v3.shared).parts.entitySchemas as object)).toEqual(["A", "B"]);
		const v4 = clones.refFor({ ...e.getCloneData(), extra: 1 })!;
		expect(v4.version).toBe(v3.version + 1);
		expect(sharedPart(v4.shared).keys).toContain("extra");
	});

	test("a change in place is seen once ENGINE_CLONE_RECHECK_MS has passed, and bytes alike keep the version", () => {
		let now = 1000;
		vi.spyOn(performance, "now").mockImplementation(() => now);
		const e = engine();
		const clones = new EngineClones();
		const v1 = clones.refFor(e.getCloneData())!;
		e.config.debug = true;
		now += ENGINE_CLONE_RECHECK_MS - 1;
		expect(clones.refFor(e.getCloneData())!.version).toBe(v1.version);
		now += 1;
		const v2 = clones.refFor(e.getCloneData())!;
		expect(v2.version).toBe(v1.version + 1);
		expect(sharedPart(v2.shared).parts.config).toEqual({
			debug: true,
			types: { a: [{ type: "x" }] }
		});
		// Compared again after the same time with nothing changed: the same version.
		now += ENGINE_CLONE_RECHECK_MS;
		expect(clones.refFor(e.getCloneData())).toBe(v2);
	});

	test("what is not a plain object, or cannot be serialized, is sent as it is", () => {
		const clones = new EngineClones();
		class Clone {
			public config = {};
		}
		for (const data of [new Clone(), [1, 2], "text", 1, null]) {
			expect(clones.refFor(data)).toBeUndefined();
		}
		expect(clones.refFor({ config: { log: (): void => {} }, state: {} })).toBeUndefined();
		const throwing = {
			get config(): unknown {
				throw new Error("no");
			},
			state: {}
		};
		expect(clones.refFor(throwing)).toBeUndefined();
	});
});
