// The demo's three handler types, shared by the single node (scripts/demo.mjs) and the node
// processes of --nodes (node.mjs), which run the same handlers through nodeHandlers.mjs so that
// every execution is logged.
import { availableParallelism } from "node:os";

/**
 * @typedef {object} IHandlerType
 * @property {string} type The task type.
 * @property {string} module The handler module (file URL).
 * @property {string} method The handler method.
 * @property {number} concurrency The type's concurrency (per node).
 * @property {(i: number) => object} payload The payload of the i-th task.
 * @property {object} createOptions The options of create().
 */

/**
 * The three handler types: module, method, concurrency, and the payload and options of a task.
 * @param {{ failRate: number, slowConcurrency: number }} options The demo options.
 * @param {boolean} [logged] Use the handlers that log each execution (nodeHandlers.mjs).
 * @returns {IHandlerType[]} The types.
 */
export function handlerTypes(options, logged = false) {
	const own = name => new URL(`../demo-handlers/${name}.mjs`, import.meta.url).href;
	const wrapped = new URL("./nodeHandlers.mjs", import.meta.url).href;
	return [
		{
			type: "cpu",
			module: logged ? wrapped : own("cpu"),
			method: logged ? "cpu" : "countPrimes",
			concurrency: availableParallelism(),
			payload: i => ({ limit: 40000 + (i % 10) * 2000 }),
			createOptions: {}
		},
		{
			type: "flaky",
			module: logged ? wrapped : own("flaky"),
			method: logged ? "flaky" : "callService",
			concurrency: 2,
			payload: i => ({ order: i, failRate: options.failRate }),
			// With 10 retries a task fails for good only if 11 attempts in a row fail.
			createOptions: { retryCount: 10, retryInterval: 20 }
		},
		{
			type: "slow",
			module: logged ? wrapped : own("slow"),
			method: logged ? "slow" : "wait",
			concurrency: options.slowConcurrency,
			payload: () => ({ ms: 50 }),
			createOptions: {}
		}
	];
}
