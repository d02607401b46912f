// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
/**
 * The worker entry of the pool (piscina's `filename`). It only loads the handler runner,
 * handlerWorker.mjs, with import() and hands every job to it.
 *
 * Why a CommonJS file: piscina loads its entry with require() and falls back to import() only
 * when require() throws. On Node 20.19+ and 22, require() of an ES module succeeds, through a
 * synchronous path (require(esm)) that aborts the whole process with a V8 fatal error
 * ("v8::Module::IsGraphAsync must be used on an instantiated module") when the worker is
 * terminated (a stop(), a timeout) while it is instantiating the module graph. import() takes the
 * asynchronous path, which a termination simply ends. require() of this file is plain CommonJS,
 * so no require(esm) happens anywhere in a worker's start-up. See docs/design.md.
 *
 * Plain JavaScript with no dependency on the rest of the package, like handlerWorker.mjs, so the
 * same file serves the ES module and CommonJS builds and the tests.
 */
"use strict";

const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

/**
 * The handler runner, beside this file in every build.
 */
const RUNNER_URL = pathToFileURL(join(__dirname, "handlerWorker.mjs")).href;

/**
 * The runner's default export, imported once per thread. The import starts as soon as the worker
 * loads this file, so it overlaps the worker's start-up; a failed import is forgotten so that a
 * later job tries again.
 * @type {Promise<(job: unknown) => Promise<unknown>> | undefined}
 */
let runner = load();

/**
 * Start importing the runner.
 * @returns {Promise<(job: unknown) => Promise<unknown>>} The runner's default export.
 */
function load() {
	const loading = import(RUNNER_URL).then(
		mod => mod.default,
		err => {
			runner = undefined;
			throw err;
		}
	);
	// Nothing may be waiting yet: the error reaches the job that awaits this promise.
	loading.catch(() => {});
	return loading;
}

/**
 * Run one handler call with the runner.
 * @param {unknown} job The call, as handlerWorker.mjs takes it.
 * @returns {Promise<unknown>} The runner's envelope.
 */
module.exports = async function runInWorker(job) {
	runner ??= load();
	const run = await runner;
	return run(job);
};
