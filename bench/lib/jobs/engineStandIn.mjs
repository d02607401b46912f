// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A stand-in for a TWIN node's engine, registered in EngineCoreFactory under the connector's
// default engineName ("engine"), so that every job carries clone data of a node's size as its
// handler's first argument. A TWIN node always has an engine; without one the jobs carry
// `undefined` and a benchmark of worker mode leaves out what its messages carry in a node.
//
// getCloneData() does what EngineCore's does (@twin.org/engine-core 0.0.2-next.2): a new object
// each call holding the engine's config, state and type initialisers, and a new map of every
// schema registered in EntitySchemaFactory, read from the factory on each call (18 us a call with
// 30 schemas). The schemas are made from the one real schema this process has (BackgroundTask,
// 1.5 KB as JSON), copied under a name per component with their properties renamed, beside a
// config entry and a type initialiser per component, as a node of that many components with
// entity storage has.
import { EngineCoreFactory } from "@twin.org/engine-models";
import { EntitySchemaFactory } from "@twin.org/entity";
import { initSchema } from "../../../dist/esm/index.js";

/**
 * Register the stand-in engine.
 * @param {number} components How many components with an entity schema the node has.
 * @returns {{ bytes: number, unregister: () => void }} The size of one clone as JSON, and how to
 *   remove the engine again.
 */
export function registerEngineStandIn(components) {
	initSchema();
	const template = JSON.stringify(EntitySchemaFactory.get("BackgroundTask"));
	const schemas = {};
	const types = {};
	const typeInitialisers = [];
	for (let i = 0; i < components; i++) {
		const name = `Component${i}Entity`;
		schemas[name] = JSON.parse(template.replaceAll('"property":"', `"property":"c${i}`));
		types[`component${i}`] = [
			{
				type: "service",
				options: {
					config: { endpoint: `http://localhost:${3000 + i}`, retries: 3 },
					entityStorageType: `component-${i}-entity`,
					loggingConnectorType: "node-logging"
				}
			}
		];
		typeInitialisers.push({
			type: `component${i}`,
			typeConfig: types[`component${i}`],
			module: "@twin.org/engine-types",
			method: `initialiseComponent${i}`
		});
	}
	const config = { debug: false, silent: false, types };
	const state = {
		nodeIdentity: `did:iota:tst:0x${"a".repeat(64)}`,
		componentStates: { component0: { bootstrapped: true } }
	};
	for (const [name, schema] of Object.entries(schemas)) {
		EntitySchemaFactory.register(name, () => schema);
	}
	const engine = {
		getCloneData() {
			const entitySchemas = {};
			for (const name of EntitySchemaFactory.names()) {
				entitySchemas[name] = EntitySchemaFactory.get(name);
			}
			return { config, state, typeInitialisers, entitySchemas, loggerTypeName: "node-logging" };
		}
	};
	EngineCoreFactory.register("engine", () => engine);
	return {
		bytes: JSON.stringify(engine.getCloneData()).length,
		unregister: () => {
			EngineCoreFactory.unregister("engine");
			for (const name of Object.keys(schemas)) {
				EntitySchemaFactory.unregister(name);
			}
		}
	};
}
