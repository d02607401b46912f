// The CPU a worker thread takes to start and load a handler's imports: ten workers in a row, each
// importing the given modules and then reporting ready, measured with process.cpuUsage() (which
// counts every thread of the process, ended ones included).
//   node bench/workerStartup.mjs                   # the runner alone, the light entry, the main entry
//   node bench/workerStartup.mjs <module> ...      # other modules (specifiers or paths)
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/esm/", import.meta.url));
const RUNS = 10;
const targets = process.argv.slice(2);
const cases =
	targets.length > 0
		? targets.map(target => [target, [target]])
		: [
				["a bare worker", []],
				["the handler runner", [`${dist}execution/handlerWorker.mjs`]],
				["runner + ./context entry", [`${dist}execution/handlerWorker.mjs`, `${dist}context.js`]],
				["runner + main entry", [`${dist}execution/handlerWorker.mjs`, `${dist}index.js`]]
			];

for (const [name, modules] of cases) {
	const code = `Promise.all(${JSON.stringify(modules)}.map(m => import(m))).then(() =>
		require("node:worker_threads").parentPort.postMessage("ready"));`;
	const before = process.cpuUsage();
	const start = performance.now();
	for (let i = 0; i < RUNS; i++) {
		const worker = new Worker(code, { eval: true });
		await new Promise((resolve, reject) => {
			worker.once("message", resolve);
			worker.once("error", reject);
		});
		await worker.terminate();
	}
	const cpu = process.cpuUsage(before);
	console.log(
		`${name.padEnd(28)} ${((cpu.user + cpu.system) / 1000 / RUNS).toFixed(1).padStart(7)} ms CPU ${((performance.now() - start) / RUNS).toFixed(1).padStart(7)} ms wall a worker`
	);
}
