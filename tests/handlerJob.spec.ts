// How the scheduler asks the engine for its clone data (src/scheduling/handlerJob.ts): at most once
// a millisecond, each job with a top-level object of its own.
import { EngineCoreFactory, type IEngineCore } from "@twin.org/engine-models";
import { afterEach, describe, expect, test, vi } from "vitest";
import { ENGINE_CLONE_REUSE_MS, engineCloneData } from "../src/scheduling/handlerJob.js";

describe("engineCloneData", () => {
	const name = "handler-job-engine";
	afterEach(() => {
		if (EngineCoreFactory.getIfExists(name) !== undefined) {
			EngineCoreFactory.unregister(name);
		}
		vi.useRealTimers();
	});

	test("no engine registered under the name: undefined", () => {
		expect(engineCloneData("no-such-engine")).toBeUndefined();
	});

	test("the engine is asked once a millisecond; each job gets its own top-level object", () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		const config = { debug: false };
		const state = { componentStates: {} };
		const getCloneData = vi.fn(() => ({ config, state, entitySchemas: {} }));
		EngineCoreFactory.register(name, () => ({ getCloneData }) as unknown as IEngineCore);
		const first = engineCloneData(name) as Record<string, unknown>;
		const second = engineCloneData(name) as Record<string, unknown>;
		expect(getCloneData).toHaveBeenCalledTimes(1);
		expect(second).not.toBe(first);
		expect(second).toEqual(first);
		// The engine's own objects, as a call of its own would give them.
		expect(second.config).toBe(config);
		expect(second.state).toBe(state);
		second.config = { debug: true };
		expect((engineCloneData(name) as Record<string, unknown>).config).toBe(config);
		vi.advanceTimersByTime(ENGINE_CLONE_REUSE_MS);
		engineCloneData(name);
		expect(getCloneData).toHaveBeenCalledTimes(2);
	});

	test("another engine under the name is asked at once", () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		EngineCoreFactory.register(
			name,
			() => ({ getCloneData: () => ({ which: 1 }) }) as unknown as IEngineCore
		);
		expect(engineCloneData(name)).toEqual({ which: 1 });
		EngineCoreFactory.register(
			name,
			() => ({ getCloneData: () => ({ which: 2 }) }) as unknown as IEngineCore
		);
		expect(engineCloneData(name)).toEqual({ which: 2 });
	});
});
