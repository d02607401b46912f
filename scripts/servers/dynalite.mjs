// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A throw-away DynamoDB, shared by the tests (tests/setup/dynalite.ts wraps it in vitest hooks and
// connector factories) and the benchmark (bench/lib/storeServers.mjs): dynalite (the npm dev
// dependency) in memory, in a child process on a free loopback port, ended afterwards.
//
// A child process rather than the caller's: dynalite answers every request in JavaScript on its
// event loop, so in the caller's process its CPU time would delay the timers of the connector
// under test (polls, retries, leases); a child also stops at once (dynalite's own close waits for
// open keep-alive connections) and takes its memory with it. The child ends itself when its stdin
// closes, so it never outlives its parent, even one killed with SIGKILL.
//
// When the server cannot start, startDynalite() throws with the reason (and the child's output).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

/**
 * The region TWIN's DynamoDB connector is configured with (dynalite accepts any).
 */
export const DYNAMODB_REGION = "us-east-1";

/**
 * The child's program: dynalite in memory (no path), tables ACTIVE at once, on a free loopback
 * port that it reports as one JSON line; it exits when its stdin closes. (CreateTable answers are
 * held back 25 ms, as the contract suites have always run it.)
 */
const CHILD_SOURCE = `
const dynalite = require(process.argv[1]);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const handlers = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
	if (String(req.headers["x-amz-target"]).endsWith(".CreateTable")) {
		const end = res.end;
		res.end = (...args) => { setTimeout(() => end.apply(res, args), 25); return res; };
	}
	for (const handler of handlers) handler.call(server, req, res);
});
server.on("error", err => { console.error(err && err.stack || String(err)); process.exit(1); });
server.listen(0, "127.0.0.1", () => {
	process.stdout.write(JSON.stringify({ port: server.address().port }) + "\\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
`;

/**
 * @typedef {object} Dynalite
 * @property {string} endpoint The endpoint, http://127.0.0.1:<port>.
 * @property {number} port TCP port.
 * @property {number} pid The child's process id.
 * @property {string} version dynalite's version.
 * @property {number} startSeconds Seconds from spawn to listening.
 * @property {() => Promise<void>} stop End the process (its tables go with it); idempotent.
 * @property {() => void} stopSync The same, synchronously (SIGKILL; for process exit handlers).
 */

/**
 * Start dynalite in a child process.
 * @param {number} [timeoutMs] How long to wait for it to listen.
 * @returns {Promise<Dynalite>} The running server.
 * @throws Error with the reason (and the child's output) when it does not start.
 */
export async function startDynalite(timeoutMs = 30000) {
	let modulePath;
	let version = "?";
	try {
		const require = createRequire(import.meta.url);
		modulePath = require.resolve("dynalite");
		version = require("dynalite/package.json").version;
	} catch (err) {
		throw new Error(
			`dynalite is not installed (npm ci installs it as a dev dependency): ${String(err)}`
		);
	}
	const started = performance.now();
	const child = spawn(process.execPath, ["-e", CHILD_SOURCE, modulePath], {
		stdio: ["pipe", "pipe", "pipe"]
	});
	let output = "";
	child.stderr?.on("data", chunk => {
		output += chunk.toString();
	});
	const port = await new Promise((resolve, reject) => {
		let stdout = "";
		const timer = setTimeout(() => {
			fail(new Error(`no port reported within ${timeoutMs} ms`));
		}, timeoutMs);
		const fail = err => {
			clearTimeout(timer);
			child.kill("SIGKILL");
			reject(
				new Error(`dynalite did not start: ${err.message}\n--- output ---\n${stdout}${output}`)
			);
		};
		child.on("error", fail);
		child.on("exit", (code, signal) => fail(new Error(`exited (code ${code}, signal ${signal})`)));
		child.stdout?.on("data", chunk => {
			stdout += chunk.toString();
			const line = stdout.split("\n")[0];
			if (stdout.includes("\n")) {
				try {
					const reported = JSON.parse(line).port;
					clearTimeout(timer);
					child.removeAllListeners("exit");
					resolve(reported);
				} catch (err) {
					fail(err);
				}
			}
		});
	});
	const startSeconds = (performance.now() - started) / 1000;
	return {
		endpoint: `http://127.0.0.1:${port}`,
		port,
		pid: /** @type {number} */ (child.pid),
		version,
		startSeconds,
		stop: async () => stopChild(child),
		stopSync: () => {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill("SIGKILL");
			}
		}
	};
}

/**
 * End the child: close its stdin (it exits), then SIGKILL if it has not after a second.
 * @param {import("node:child_process").ChildProcess} child The child.
 * @returns {Promise<void>} Resolves when it has exited.
 */
async function stopChild(child) {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}
	const exited = new Promise(resolve => child.once("exit", () => resolve(undefined)));
	child.stdin?.end();
	const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
	await exited;
	clearTimeout(timer);
}

/**
 * The config of TWIN's DynamoDbEntityStorageConnector for a table on the server, with fake
 * credentials.
 * @param {{ endpoint: string }} server The server (or its details).
 * @param {string} tableName The table.
 * @returns {{ endpoint: string, region: string, accessKeyId: string, secretAccessKey: string, tableName: string }}
 *   The config.
 */
export function dynamoDbConfig(server, tableName) {
	return {
		endpoint: server.endpoint,
		region: DYNAMODB_REGION,
		accessKeyId: "x",
		secretAccessKey: "x",
		tableName
	};
}
