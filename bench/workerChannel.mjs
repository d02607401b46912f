// What one round trip of a message of 8 quick jobs costs between the main thread and a worker,
// by channel (issue 21, item 4: is piscina's per-message cost the floor?). Each channel runs
// ROUNDS messages one after the other, as worker mode does at concurrency 8: the main thread
// sends 8 jobs, the worker runs each (a trivial handler) and answers once, the main thread sends
// the next message when the answer arrives.
//   piscina      the pool worker mode uses (default settings, one thread)
//   port         a bare worker and its MessagePort
//   shared       a SharedArrayBuffer channel: the worker sleeps in Atomics.wait between messages,
//                the main thread in Atomics.waitAsync
//   shared+spin  the same, the worker polling the channel for SPIN_US before it sleeps
// Each channel runs twice, on an idle machine and beside a process that keeps one core busy (as a
// PostgreSQL server does under load). Reported per message: wall time, the whole process's CPU
// and the main thread's CPU (/proc/self/task/<pid>/schedstat).
//   node bench/workerChannel.mjs [rounds]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import Piscina from "piscina";

const ROUNDS = Number(process.argv[2] ?? 20_000);
const JOBS = 8;
const SPIN_US = 200;
const BYTES = 1 << 16;

/**
 * The main thread's CPU time so far, ns (Linux only).
 * @returns {number} The time.
 */
function mainThreadNs() {
	return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

/**
 * A message of JOBS jobs.
 * @param {number} round The round.
 * @returns {object[]} The jobs.
 */
function message(round) {
	return Array.from({ length: JOBS }, (_, i) => ({
		jobId: round * JOBS + i,
		module: "bench-handlers",
		method: "count",
		payload: { i: round * JOBS + i }
	}));
}

// The worker side of each channel: run every job of a message and answer with their outcomes.
const RUN_JOBS = `const run = jobs => jobs.map(job => ({ ok: true, result: job.payload.i, ms: 0.001 }));`;

const PISCINA_WORKER = `${RUN_JOBS}
module.exports = jobs => run(jobs);`;

const PORT_WORKER = `${RUN_JOBS}
const { parentPort } = require("node:worker_threads");
parentPort.on("message", jobs => parentPort.postMessage(run(jobs)));`;

// The shared channel: Int32 slot 0 counts messages sent, slot 1 answers given, slot 2 the
// length of the text in the data area (after 16 bytes of header).
const SHARED_WORKER = spinUs => `${RUN_JOBS}
const { workerData } = require("node:worker_threads");
const control = new Int32Array(workerData, 0, 4);
const data = new Uint8Array(workerData, 16);
const decoder = new TextDecoder();
const encoder = new TextEncoder();
let seen = 0;
for (;;) {
	if (Atomics.load(control, 0) === seen) {
		const until = performance.now() + ${spinUs / 1000};
		while (Atomics.load(control, 0) === seen && performance.now() < until) {}
		while (Atomics.load(control, 0) === seen) {
			Atomics.wait(control, 0, seen);
		}
	}
	seen = Atomics.load(control, 0);
	if (seen < 0) {
		break;
	}
	const jobs = JSON.parse(decoder.decode(data.slice(0, Atomics.load(control, 2))));
	const { written } = encoder.encodeInto(JSON.stringify(run(jobs)), data);
	Atomics.store(control, 2, written);
	Atomics.add(control, 1, 1);
	Atomics.notify(control, 1);
}`;

/**
 * Time ROUNDS round trips.
 * @param {(round: number) => Promise<unknown>} roundTrip Sends a message and resolves with the answer.
 * @returns {Promise<{ wallUs: number, cpuUs: number, mainUs: number }>} Per message.
 */
async function timed(roundTrip) {
	for (let i = 0; i < 500; i++) {
		await roundTrip(i);
	}
	const cpu = process.cpuUsage();
	const main = mainThreadNs();
	const start = performance.now();
	for (let i = 0; i < ROUNDS; i++) {
		const answer = await roundTrip(i);
		if (answer.length !== JOBS) {
			throw new Error("short answer");
		}
	}
	const wall = performance.now() - start;
	const used = process.cpuUsage(cpu);
	return {
		wallUs: (wall * 1000) / ROUNDS,
		cpuUs: (used.user + used.system) / ROUNDS,
		mainUs: (mainThreadNs() - main) / 1000 / ROUNDS
	};
}

/**
 * The channels, each as open() returning a round trip and a close().
 */
const CHANNELS = {
	piscina: async dir => {
		const filename = join(dir, "piscina-worker.cjs");
		writeFileSync(filename, PISCINA_WORKER);
		const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
		return {
			roundTrip: async round => pool.run(message(round)),
			close: async () => pool.destroy()
		};
	},
	port: async () => {
		const worker = new Worker(PORT_WORKER, { eval: true });
		let pending;
		worker.on("message", answer => pending(answer));
		return {
			roundTrip: async round =>
				new Promise(resolve => {
					pending = resolve;
					worker.postMessage(message(round));
				}),
			close: async () => worker.terminate()
		};
	},
	shared: async () => sharedChannel(0),
	"shared+spin": async () => sharedChannel(SPIN_US)
};

/**
 * A SharedArrayBuffer channel to a worker that polls for spinUs before it sleeps.
 * @param {number} spinUs The poll, us.
 * @returns {Promise<{ roundTrip: Function, close: Function }>} The channel.
 */
async function sharedChannel(spinUs) {
	const buffer = new SharedArrayBuffer(16 + BYTES);
	const control = new Int32Array(buffer, 0, 4);
	const data = new Uint8Array(buffer, 16);
	const encoder = new TextEncoder();
	const decoder = new TextDecoder();
	const worker = new Worker(SHARED_WORKER(spinUs), { eval: true, workerData: buffer });
	let sent = 0;
	return {
		roundTrip: async round => {
			const { written } = encoder.encodeInto(JSON.stringify(message(round)), data);
			Atomics.store(control, 2, written);
			const answered = Atomics.load(control, 1);
			sent++;
			Atomics.store(control, 0, sent);
			Atomics.notify(control, 0);
			const wait = Atomics.waitAsync(control, 1, answered);
			if (wait.async) {
				await wait.value;
			}
			return JSON.parse(decoder.decode(data.slice(0, Atomics.load(control, 2))));
		},
		close: async () => {
			Atomics.store(control, 0, -1);
			Atomics.notify(control, 0);
			await worker.terminate();
		}
	};
}

/**
 * Keep one core busy in a child process until killed.
 * @returns {import("node:child_process").ChildProcess} The child.
 */
function busyCore() {
	return spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
}

const dir = mkdtempSync(join(tmpdir(), "worker-channel-"));
try {
	console.log(
		`${ROUNDS} messages of ${JOBS} jobs; per message: wall / process CPU / main thread CPU, us`
	);
	for (const load of ["idle", "one core busy"]) {
		const child = load === "idle" ? undefined : busyCore();
		for (const [name, open] of Object.entries(CHANNELS)) {
			const channel = await open(dir);
			const r = await timed(channel.roundTrip);
			await channel.close();
			console.log(
				`${load.padEnd(14)} ${name.padEnd(12)} ${r.wallUs.toFixed(1).padStart(7)} ${r.cpuUs.toFixed(1).padStart(7)} ${r.mainUs.toFixed(1).padStart(7)}`
			);
		}
		child?.kill();
	}
} finally {
	rmSync(dir, { recursive: true, force: true });
}
