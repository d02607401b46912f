// The demo's handlers as the node processes of --nodes run them (in their worker threads): each
// runs the demo handler of its type and, whatever the outcome, appends one line to its node's
// execution log (JSON: the task's key from the payload, node, pid, start and end in epoch ms,
// whether it succeeded). The log is written by the handler itself, not by the connector, so the
// summary's "no task ran twice" counts real executions. Its result adds the node and pid that ran
// it, so the table shows where each task ended.
import { appendFileSync } from "node:fs";
import { countPrimes } from "../demo-handlers/cpu.mjs";
import { callService } from "../demo-handlers/flaky.mjs";
import { wait } from "../demo-handlers/slow.mjs";

/**
 * The environment variable naming the node's execution log file (set by the demo for each node
 * process; worker threads inherit the environment).
 */
export const LOG_ENV = "TWIN_DEMO_EXECUTION_LOG";

/**
 * The environment variable holding the node's number.
 */
export const NODE_ENV = "TWIN_DEMO_NODE";

/**
 * Wrap a demo handler so that each execution is logged.
 * @param {(engineCloneData: unknown, payload: any) => Promise<object>} handler The handler.
 * @returns {(engineCloneData: unknown, payload: any) => Promise<object>} The logged handler.
 */
function logged(handler) {
	return async (engineCloneData, payload) => {
		const node = Number(process.env[NODE_ENV]);
		const start = Date.now();
		let ok = false;
		try {
			const result = await handler(engineCloneData, payload);
			ok = true;
			return { ...result, node, pid: process.pid };
		} finally {
			const line = { key: payload?.key, node, pid: process.pid, start, end: Date.now(), ok };
			// One write with O_APPEND per execution: lines from several threads never interleave.
			appendFileSync(process.env[LOG_ENV] ?? "", `${JSON.stringify(line)}\n`);
		}
	};
}

/**
 * The cpu type: counts primes.
 */
export const cpu = logged(countPrimes);

/**
 * The flaky type: fails at random, succeeds on a retry.
 */
export const flaky = logged(callService);

/**
 * The slow type: waits.
 */
export const slow = logged(wait);
