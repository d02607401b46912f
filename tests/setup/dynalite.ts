// A throw-away DynamoDB for the storage contract suite: dynalite (the npm dev dependency) in
// memory, in a child process on a free loopback port, its tables created by TWIN's DynamoDB
// connector's own bootstrap, and the process ended afterwards.
//
// A child process rather than the test worker: dynalite answers every request in JavaScript on
// its event loop, so in the test process its CPU time would delay the timers of the connector
// under test (polls, retries, leases); a child also stops at once (dynalite's own close waits for
// open keep-alive connections) and takes its memory with it. The child ends itself when its stdin
// closes, so it never outlives a test worker that is killed.
//
// When the server cannot start, startDynalite() throws with the reason (and the child's output):
// the suite fails, it is never skipped.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { DynamoDbEntityStorageConnector } from "@twin.org/entity-storage-connector-dynamodb";
import { afterAll } from "vitest";
import type { BackgroundTask } from "../../src/index.js";

/**
 * The region the connector is configured with (dynalite accepts any).
 */
export const DYNAMODB_REGION = "us-east-1";

/**
 * A running dynalite.
 */
export interface ITestDynalite {
	/**
	 * The endpoint, http://127.0.0.1:<port>.
	 */
	endpoint: string;

	/**
	 * TCP port.
	 */
	port: number;

	/**
	 * The child's process id.
	 */
	pid: number;

	/**
	 * Seconds from spawn to listening.
	 */
	startSeconds: number;

	/**
	 * End the process (its tables go with it).
	 */
	stop: () => Promise<void>;
}

/**
 * The child's program: dynalite in memory (no path), tables ACTIVE at once, on a free loopback
 * port that it reports as one JSON line; it exits when its stdin closes.
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
 * Start dynalite in a child process.
 * @param timeoutMs How long to wait for it to listen.
 * @returns The running server.
 */
export async function startDynalite(timeoutMs = 30000): Promise<ITestDynalite> {
	let modulePath: string;
	try {
		modulePath = createRequire(import.meta.url).resolve("dynalite");
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
	child.stderr?.on("data", (chunk: Buffer) => {
		output += chunk.toString();
	});
	const port = await new Promise<number>((resolve, reject) => {
		let stdout = "";
		const timer = setTimeout(() => {
			fail(new Error(`no port reported within ${timeoutMs} ms`));
		}, timeoutMs);
		const fail = (err: Error): void => {
			clearTimeout(timer);
			child.kill("SIGKILL");
			reject(
				new Error(`dynalite did not start: ${err.message}\n--- output ---\n${stdout}${output}`)
			);
		};
		child.on("error", fail);
		child.on("exit", (code, signal) => fail(new Error(`exited (code ${code}, signal ${signal})`)));
		child.stdout?.on("data", (chunk: Buffer) => {
			stdout += chunk.toString();
			const line = stdout.split("\n")[0];
			if (stdout.includes("\n")) {
				try {
					const reported = (JSON.parse(line) as { port: number }).port;
					clearTimeout(timer);
					child.removeAllListeners("exit");
					resolve(reported);
				} catch (err) {
					fail(err as Error);
				}
			}
		});
	});
	const startSeconds = (performance.now() - started) / 1000;
	return {
		endpoint: `http://127.0.0.1:${port}`,
		port,
		pid: child.pid as number,
		startSeconds,
		stop: async () => stopChild(child)
	};
}

/**
 * End the child: close its stdin (it exits), then SIGKILL if it has not after a second.
 * @param child The child.
 */
async function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}
	const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
	child.stdin?.end();
	const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
	await exited;
	clearTimeout(timer);
}

/**
 * A server shared by the tests of one spec file, started by the first test that needs it and
 * stopped after the file. A server that cannot start fails every test that needs it, with the
 * reason (a failed beforeAll would only mark the tests skipped).
 * @returns A function returning the running server.
 */
export function useDynalite(): () => Promise<ITestDynalite> {
	let server: Promise<ITestDynalite> | undefined;
	afterAll(async () => {
		const running = await server?.catch(() => undefined);
		await running?.stop();
	});
	return async () => {
		server ??= startDynalite();
		return server;
	};
}

let tableCount = 0;

/**
 * A table name not used before in this process.
 * @param prefix The name's start.
 * @returns The name.
 */
export function freshTableName(prefix = "background_task"): string {
	return `${prefix}_${process.pid}_${++tableCount}`;
}

/**
 * A DynamoDB storage connector on the test server, with fake credentials.
 * @param server The server.
 * @param tableName The table.
 * @returns The connector (not bootstrapped).
 */
export function dynamoDbConnector(
	server: ITestDynalite,
	tableName: string
): DynamoDbEntityStorageConnector<BackgroundTask> {
	return new DynamoDbEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: {
			endpoint: server.endpoint,
			region: DYNAMODB_REGION,
			accessKeyId: "x",
			secretAccessKey: "x",
			tableName
		}
	});
}

/**
 * A DynamoDB storage connector on a new, empty table that the connector's bootstrap creates (the
 * partition key "partitionId", the range key "id", and one global secondary index per sortable or
 * secondary property: type, threadId, dateCreated, dateModified, dateNextProcess).
 * @param server The server.
 * @param tableName The table, a new one by default.
 * @returns The bootstrapped connector.
 */
export async function createDynamoDbStorage(
	server: ITestDynalite,
	tableName = freshTableName()
): Promise<DynamoDbEntityStorageConnector<BackgroundTask>> {
	const storage = dynamoDbConnector(server, tableName);
	// The bootstrap logs its failures (through a logging connector, none here) and returns false.
	if (!(await storage.bootstrap())) {
		throw new Error(`The DynamoDB connector's bootstrap of table ${tableName} failed`);
	}
	return storage;
}
