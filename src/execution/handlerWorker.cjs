// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * The worker entry of the pool (piscina's `filename`). It only loads the handler runner,
 * handlerWorker.mjs, with import() and hands every job to it.
 *
 * Why a CommonJS file: piscina loads its entry with require(), and on the Node versions where
 * require() of an ES module succeeds, a worker terminated while that synchronous load instantiates
 * the module graph can abort the whole process; import() takes the asynchronous path, which a
 * termination simply ends. So no require(esm) happens anywhere in a worker's start-up (see
 * docs/design.md, "Why the pool's entry is a CommonJS file").
 *
 * Plain JavaScript with no dependency on the rest of the package, like handlerWorker.mjs, so the
 * same file serves the ES module and CommonJS builds and the tests.
 *
 * It also gives each job the abort state behind its handler's context signal. The pool names a
 * BroadcastChannel and shares a flag in the worker's workerData (PoolThreads); the channel
 * is opened here as the worker loads, before piscina lets it take a job, and unref'd, so it never
 * keeps a worker alive. The pool posts { abort: jobId, timeoutMs } when a job times out (after
 * the worker said its handler started, so the job is registered by then), { abort: jobId, reason }
 * for abort(taskId) (remembered a while when the job is not registered yet), and { abortAll: true }
 * when stop() runs out of time, after setting the flag: a job that reaches a worker later, or
 * one whose worker was not listening yet, sees the flag instead. Nothing is sent on the common
 * path, where a job ends without an abort.
 *
 * Progress a handler reports goes the other way, on a second BroadcastChannel the pool names in
 * workerData (progressChannel), opened by the first report in this worker (unref'd too): the
 * handler runner passes a job's progress on at most once a second, and the last value reported
 * comes back in the job's envelope. A job that reports nothing sends nothing.
 */
"use strict";

const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { deserialize } = require("node:v8");
const { BroadcastChannel, workerData } = require("node:worker_threads");

/**
 * The handler runner, beside this file in every build.
 */
const RUNNER_URL = pathToFileURL(join(__dirname, "handlerWorker.mjs")).href;

/**
 * What this file uses of the runner module: the runner, and the abort state of a job.
 * @typedef {{ default: (job: object, abort?: object, started?: unknown, progress?: (taskId: string, progress: string) => void) => Promise<unknown>, JobAbort: new () => { abort: (reason: unknown) => void } }} RunnerModule
 */

/**
 * The runner module, imported once per thread. The import starts as soon as the worker loads this
 * file, so it overlaps the worker's start-up; a failed import is forgotten so that a later job
 * tries again.
 * @type {Promise<RunnerModule> | undefined}
 */
let runner = load();

/**
 * Start importing the runner.
 * @returns {Promise<RunnerModule>} The runner module.
 */
function load() {
	const loading = import(RUNNER_URL).catch(err => {
		runner = undefined;
		throw err;
	});
	// Nothing may be waiting yet: the error reaches the job that awaits this promise.
	loading.catch(() => {});
	return loading;
}

/**
 * The abort side of this worker, when the pool gave it one.
 * @type {{ flag: Int32Array, marks: Int32Array | undefined, running: Map<number, { abort: (reason: unknown) => void }> } | undefined}
 */
const aborts = listenForAborts(workerData);

/**
 * Open the pool's abort channel.
 * @param {any} data The worker's workerData.
 * @returns {{ flag: Int32Array, marks: Int32Array | undefined, running: Map<number, { abort: (reason: unknown) => void }> } | undefined}
 *   The abort flag (non-zero once stop() aborted everything) and the abort state (a JobAbort of
 *   handlerWorker.mjs) of each job running here.
 */
function listenForAborts(data) {
	if (typeof data?.abortChannel !== "string" || !(data.abortFlag instanceof SharedArrayBuffer)) {
		return undefined;
	}
	const state = {
		flag: new Int32Array(data.abortFlag),
		// Where the pool marks the jobs abort(taskId) ended, by job number modulo its length
		// (PoolThreads.abortTask), before it posts the abort: a job marked there is not started.
		marks:
			data.abortedMarks instanceof SharedArrayBuffer
				? new Int32Array(data.abortedMarks)
				: undefined,
		running: new Map()
	};
	const channel = new BroadcastChannel(data.abortChannel);
	channel.onmessage = event => {
		const message = event.data;
		if (message?.abortAll) {
			for (const abort of state.running.values()) {
				abort.abort(stopReason());
			}
		} else if (typeof message?.abort === "number" && typeof message.reason === "string") {
			// abort(taskId): a job not registered here yet is kept from starting by its mark.
			state.running.get(message.abort)?.abort(abortReason(message.reason));
		} else if (typeof message?.abort === "number") {
			state.running.get(message.abort)?.abort(timeoutReason(message.timeoutMs));
		}
	};
	channel.unref();
	return state;
}

/**
 * The signal's reason for abort(taskId).
 * @param {string} reason The reason.
 * @returns {DOMException} The reason.
 */
function abortReason(reason) {
	return new DOMException(reason, "AbortError");
}

/**
 * The signal's reason when stop() runs out of time.
 * @returns {DOMException} The reason.
 */
function stopReason() {
	return new DOMException("The connector is stopping", "AbortError");
}

/**
 * The signal's reason when the handler's timeout passes.
 * @param {number} timeoutMs The timeout.
 * @returns {DOMException} The reason.
 */
function timeoutReason(timeoutMs) {
	return new DOMException(`The handler did not finish within ${timeoutMs} ms`, "TimeoutError");
}

/**
 * The pool's progress channel, opened by the first report in this worker.
 * @type {BroadcastChannel | undefined}
 */
let progressChannel;

/**
 * Pass a job's progress to the pool: the runner's sink, called at most once a second per job.
 * @param {string} taskId The task id.
 * @param {string} progress The progress as JSON text.
 */
function postProgress(taskId, progress) {
	if (progressChannel === undefined) {
		if (typeof workerData?.progressChannel !== "string") {
			return;
		}
		progressChannel = new BroadcastChannel(workerData.progressChannel);
		progressChannel.unref();
	}
	progressChannel.postMessage({ taskId, progress });
}

/**
 * Where this worker marks each job it starts, by job number modulo the array's length, so that
 * the pool knows, when a worker dies, which jobs of its message never started (they are sent
 * again; the others failed with it).
 * @type {Int32Array | undefined}
 */
const startedMarks =
	workerData?.startedMarks instanceof SharedArrayBuffer
		? new Int32Array(workerData.startedMarks)
		: undefined;

/**
 * Run what the pool sent: one job, or { batch } of several jobs of quick handlers, run one after
 * the other and answered together (QuickJobs.send). Each answer carries how long
 * its job took here, ms, from which the pool learns which handlers are quick.
 * @param {{ jobId: number, started?: unknown } | { batch: { jobId: number }[] }} message The job
 *   or jobs.
 * @returns {Promise<unknown>} The runner's envelope, or one per job.
 */
module.exports = async function runJobs(message) {
	if (Array.isArray(message.batch)) {
		const envelopes = [];
		for (const job of message.batch) {
			envelopes.push(await markAndRun(job));
		}
		return envelopes;
	}
	return markAndRun(message);
};

/**
 * Run one job, marked started.
 * @param {{ jobId: number, started?: unknown }} job The job.
 * @returns {Promise<any>} The runner's envelope, with ms when the handler was run.
 */
async function markAndRun(job) {
	if (startedMarks !== undefined) {
		Atomics.store(startedMarks, job.jobId % startedMarks.length, job.jobId | 0);
	}
	return runInWorker(job);
}

/**
 * Run one handler call with the runner.
 * @param {{ jobId: number, started?: unknown }} job The call as handlerWorker.mjs takes it, with
 *   the pool's number for it and the port to tell when the handler starts.
 * @returns {Promise<unknown>} The runner's envelope.
 */
async function runInWorker(job) {
	const { jobId, started } = job;
	if (job.engineClone !== undefined) {
		try {
			job.engineCloneData = engineCloneData(job.engineClone);
		} catch (err) {
			return {
				ok: false,
				error: { name: "EngineCloneError", message: `engine clone data: ${err?.message ?? err}` }
			};
		}
		job.engineClone = undefined;
	}
	runner ??= load();
	const mod = await runner;
	// Registered before the runner posts "started" (after which a timeout's message may come);
	// the flag covers a stop() whose message came before this job was registered.
	const abort = new mod.JobAbort();
	if (aborts !== undefined) {
		aborts.running.set(jobId, abort);
		if (Atomics.load(aborts.flag, 0) !== 0) {
			abort.abort(stopReason());
		} else if (
			aborts.marks !== undefined &&
			Atomics.load(aborts.marks, jobId % aborts.marks.length) === (jobId | 0)
		) {
			// abort(taskId) before it started, whether or not its message on the channel was heard
			// yet (that comes on a later turn of this event loop): never started, so the reason,
			// which only a handler would read, is not needed.
			abort.abort(abortReason("aborted"));
		}
	}
	try {
		// The handler's module is imported before the clock starts (an abort meanwhile reaches the
		// job, registered above): what makes a handler quick is its calls' time, and each new
		// worker's first import would otherwise hold its average above QUICK_HANDLER_MS for a
		// score of calls.
		const preparing = mod.prepare(job.module, job.method);
		if (preparing !== undefined) {
			await preparing;
		}
		const start = performance.now();
		const envelope = await mod.default(job, abort, started, postProgress);
		if (envelope !== null && typeof envelope === "object") {
			envelope.ms = performance.now() - start;
		}
		return envelope;
	} finally {
		aborts?.running.delete(jobId);
	}
}

/**
 * The shared part of the engine clone data this worker holds (EngineClones): its version, the
 * clone data's keys in order, and its fields but state.
 * @type {{ version: number, keys: string[], parts: Record<string, unknown> }}
 */
let engineShared = { version: 0, keys: [], parts: {} };

/**
 * A job's engine clone data, rebuilt from its reference: the shared part deserialized once per
 * version, the state from the message. Each job gets top-level objects of its own, as an engine
 * makes a new clone data on each call, so a handler that sets a field of its config (as
 * EngineCore.populateClone does with silent) does not change the next job's; deeper objects are
 * shared by the jobs of this worker, as the jobs of one message shared all of it before.
 * @param {{ version: number, shared: SharedArrayBuffer, state: unknown }} ref The reference.
 * @returns {Record<string, unknown>} The clone data.
 */
function engineCloneData(ref) {
	if (ref.version !== engineShared.version) {
		const { keys, parts } = deserialize(new Uint8Array(ref.shared));
		engineShared = { version: ref.version, keys, parts };
	}
	/** @type {Record<string, unknown>} */
	const clone = {};
	for (const key of engineShared.keys) {
		if (key === "state") {
			clone.state = ref.state;
		} else {
			const value = engineShared.parts[key];
			clone[key] = isPlainObject(value) ? { ...value } : value;
		}
	}
	return clone;
}

/**
 * Whether a value is a plain object: the test of isPlainObject in domain/jsonValue.ts, written
 * again because this CommonJS entry must not load the package's ES modules (Worker start-up).
 * @param {unknown} value The value.
 * @returns {value is Record<string, unknown>} True if so.
 */
function isPlainObject(value) {
	if (typeof value !== "object" || value === null) {
		return false;
	}
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}
