// One node process of `npm start -- --store postgres --nodes <n>` (forked by cluster.mjs with an
// IPC channel): a connector with the native PostgreSQL backend (config.postgresql) on the shared
// table, the demo's three handler types (nodeHandlers.mjs: every execution logged), started under
// its own node identity.
//
//   node scripts/demo-lib/node.mjs <options-json>
//
// Messages to the parent: "ready" (started), "progress" (its counts, at most every 100 ms while
// they change), "created" (the ids of the tasks it created), "final" (its counts and, per task,
// the attempts it started and the retries it scheduled), "error". From the parent: "create"
// (create a share of the tasks), "stop" (stop the connector, report, exit). Ctrl-C reaches every
// process of the terminal's group: a node ignores it and waits for the parent's "stop". A node
// whose parent is gone stops and exits.
import { handlerTypes } from "./types.mjs";

/**
 * @typedef {object} INodeOptions
 * @property {number} node The node's number, from 1.
 * @property {string} run The run id: the payload of this run's tasks carries it.
 * @property {object} postgresql The connector's config.postgresql.
 * @property {number} workers Worker threads.
 * @property {number} slowConcurrency The slow type's concurrency.
 * @property {number} failRate The flaky type's failure rate.
 * @property {number} shutdownTimeout The connector's shutdownTimeout, ms.
 */

/**
 * How long a finished task stays in the table, ms: long enough for the demo to check it, then the
 * sweep removes it.
 */
const RETAIN_MS = 3_600_000;

/** @type {INodeOptions} */
const options = JSON.parse(process.argv[2]);
const types = handlerTypes(options, true);
const retryCountOf = new Map(types.map(t => [t.type, t.createOptions.retryCount]));

/**
 * What this node did with the tasks of this run (callbacks of its own connector).
 */
const counts = {
	created: 0,
	started: 0,
	running: 0,
	success: 0,
	failed: 0,
	retries: 0,
	/** Tasks this node ran first that another node created. */
	fromOthers: 0,
	/** State changes of tasks of other runs (left unfinished on the table earlier). */
	earlier: 0
};

/**
 * Start latency (first start here - creation) of this run's tasks, ms.
 * @type {number[]}
 */
const latencies = [];

/**
 * Per task id: [attempts started here, retries scheduled here].
 * @type {Map<string, [number, number]>}
 */
const perTask = new Map();

/**
 * Send a message to the parent, resolved once sent (or at once when the parent is gone).
 * @param {object} message The message.
 * @returns {Promise<void>} Resolves when sent.
 */
function send(message) {
	return new Promise(resolve => {
		if (process.connected) {
			process.send(message, () => resolve());
		} else {
			resolve();
		}
	});
}

let dirty = false;
const progressTimer = setInterval(() => {
	if (dirty) {
		dirty = false;
		void send({ type: "progress", counts });
	}
}, 100);

/**
 * Record a state change of this node's connector.
 * @param {{ id: string, type: string, status: string, dateCreated: string, retriesRemaining?: number,
 *   payload?: any }} task The task.
 */
function record(task) {
	if (task.payload?.run !== options.run) {
		counts.earlier++;
		return;
	}
	let entry = perTask.get(task.id);
	if (!entry) {
		entry = [0, 0];
		perTask.set(task.id, entry);
	}
	switch (task.status) {
		case "processing":
			// The first attempt, wherever it runs: no retry used yet.
			if (task.retriesRemaining === retryCountOf.get(task.type)) {
				latencies.push(Date.now() - Date.parse(task.dateCreated));
				if (task.payload.createdBy !== options.node) {
					counts.fromOthers++;
				}
			}
			entry[0]++;
			counts.started++;
			counts.running++;
			break;
		case "pending":
			entry[1]++;
			counts.retries++;
			counts.running--;
			break;
		case "success":
		case "failed":
			counts[task.status]++;
			counts.running--;
			break;
		default:
			break;
	}
	dirty = true;
}

let connector;
let stopping;
/** @type {Promise<void> | undefined} */
let creating;
/** @type {string[]} */
const createdIds = [];

/**
 * Stop the connector and report (once).
 * @returns {Promise<void>} Resolves when reported.
 */
function stop() {
	stopping ??= (async () => {
		// A creation in progress ends after its batch of 100.
		await creating?.catch(() => undefined);
		// The connector's own account, while it still runs: counts of the table by status (one
		// grouped query) and this node's finished tasks and start latency over the last minute.
		const statistics = await connector?.getStatistics().catch(() => undefined);
		await connector?.stop(`demo-node-${options.node}`);
		clearInterval(progressTimer);
		await send({
			type: "final",
			counts,
			latencies,
			perTask: [...perTask],
			createdIds,
			statistics
		});
		if (process.connected) {
			process.disconnect();
		}
	})();
	return stopping;
}

/**
 * Create this node's share of the tasks, interleaving the types, 100 at a time.
 * @param {number} offset The index of the first task in the run.
 * @param {number} count How many.
 * @returns {Promise<void>} Resolves when created (createdIds holds their ids).
 */
async function createTasks(offset, count) {
	const ids = createdIds;
	for (let i = 0; i < count && !stopping; i += 100) {
		const batch = await Promise.all(
			Array.from({ length: Math.min(100, count - i) }, async (_, j) => {
				const index = offset + i + j;
				const t = types[index % types.length];
				const payload = {
					...t.payload(index),
					run: options.run,
					key: `${options.run}:${index}`,
					createdBy: options.node
				};
				const urn = await connector.create(t.type, payload, {
					...t.createOptions,
					retainFor: RETAIN_MS
				});
				counts.created++;
				dirty = true;
				// create() returns "background-task:entity-storage:<id>"; rows carry the plain id.
				return urn.slice(urn.lastIndexOf(":") + 1);
			})
		);
		ids.push(...batch);
	}
}

/**
 * The text of an error: the connector's errors carry message keys, resolved with the package's
 * English messages (locales/en.json), inner errors included.
 * @param {unknown} err The error.
 * @returns {Promise<string>} The text.
 */
async function describe(err) {
	try {
		const { ErrorHelper, I18n } = await import("@twin.org/core");
		const { readFileSync } = await import("node:fs");
		const locale = new URL("../../locales/en.json", import.meta.url);
		I18n.addDictionary("en", JSON.parse(readFileSync(locale, "utf8")));
		return ErrorHelper.formatErrors(err).join(": ");
	} catch {
		return err instanceof Error ? err.message : String(err);
	}
}

/**
 * Report a failure to the parent and exit.
 * @param {unknown} err The error.
 */
async function fail(err) {
	await send({ type: "error", message: await describe(err) });
	process.exit(1);
}

process.on("SIGINT", () => {
	// The parent stops the nodes.
});
process.on("disconnect", () => {
	void stop().then(() => process.exit(0));
});
process.on("message", message => {
	if (message.type === "create") {
		creating = createTasks(message.offset, message.count);
		creating.then(
			() => send({ type: "created", count: createdIds.length }),
			err => fail(err)
		);
	} else if (message.type === "stop") {
		stop().catch(err => fail(err));
	}
});

try {
	const { EntityStorageBackgroundTaskConnector, initSchema } = await import(
		"../../dist/esm/index.js"
	);
	initSchema();
	connector = new EntityStorageBackgroundTaskConnector({
		config: {
			maxWorkers: options.workers,
			shutdownTimeout: options.shutdownTimeout,
			postgresql: options.postgresql
		}
	});
	for (const t of types) {
		await connector.registerHandler(t.type, t.module, t.method, async task => record(task), {
			concurrency: t.concurrency
		});
	}
	await connector.start(`demo-node-${options.node}`);
	await send({ type: "ready", pid: process.pid });
} catch (err) {
	await fail(err);
}
