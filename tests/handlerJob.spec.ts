// How the scheduler asks the engine for its clone data (src/scheduling/handlerJob.ts): at most once
// a millisecond, and a new engine at once.
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

	test("the engine is asked once a millisecond; its clone data is handed on as it gave it", () => {
		vi.useFakeTimers({ toFake: ["performance"] });
		const config = { debug: false };
		const state = { componentStates: {} };
		const getCloneData = vi.fn(() => ({ config, state, entitySchemas: {} }));
		EngineCoreFactory.register(name, () => ({ getCloneData }) as unknown as IEngineCore);
		const first = engineCloneData(name) as Record<string, unknown>;
		const second = engineCloneData(name) as Record<string, unknown>;
		expect(getCloneData).toHaveBeenCalledTimes(1);
		// One object for the jobs of the millisecond (each executor gives its handler a top-level
		// object of its own: tests/workerPool.spec.ts), holding the engine's own objects.
		expect(second).toBe(first);
		expect(second.config).toBe(config);
		expect(second.state).toBe(state);
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
