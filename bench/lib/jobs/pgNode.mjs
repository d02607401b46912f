// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// A node process of the multi-node PostgreSQL jobs (pgMultiNode.mjs), forked by the job's child
// with an IPC channel:
//   node bench/lib/jobs/pgNode.mjs <options-json>
// options: { peer: "native" | "graphile", role: "latency" | "scaling", n, concurrency, nodeIndex,
// table (native) | schema (graphile) }. It starts its node (a connector or a graphile-worker
// runner), says "ready", and then obeys "go" (scaling: begin processing) and "stop" (report its
// CPU since go and the runs of each task, stop, exit). While running it reports its finished
// count every 10 ms ("progress"), and each start of a latency sample at once ("stamp").
const options = JSON.parse(process.argv[2]);
let done = 0;
let node;
let cpu0 = process.cpuUsage();
let timer;

const send = message =>
	new Promise(resolve => {
		if (process.connected) {
			process.send(message, () => resolve());
		} else {
			resolve();
		}
	});

const hooks = {
	onRan: () => {
		done++;
	},
	onStamp: (i, at) => {
		process.send?.({ type: "stamp", i, at });
	}
};

/**
 * Report a failure to the coordinator and exit.
 * @param {unknown} err The error.
 */
async function fail(err) {
	await send({ type: "error", error: String(err?.stack ?? err) });
	process.exit(1);
}

process.on("message", async message => {
	try {
		if (message.type === "go") {
			cpu0 = process.cpuUsage();
			let sent = -1;
			timer = setInterval(() => {
				if (done !== sent) {
					sent = done;
					process.send?.({ type: "progress", done });
				}
			}, 10);
			await node.go();
		} else if (message.type === "stop") {
			const cpu = process.cpuUsage(cpu0);
			clearInterval(timer);
			await node.stop();
			await send({
				type: "final",
				counts: Array.from(node.counts()),
				cpuUs: cpu.user + cpu.system,
				done
			});
			process.disconnect();
		}
	} catch (err) {
		await fail(err);
	}
});
process.on("disconnect", () => {
	clearInterval(timer);
});

try {
	if (options.peer === "graphile") {
		const { graphileNode } = await import("./pgGraphile.mjs");
		node = await graphileNode({ ...options, startNow: options.role === "latency" }, hooks);
	} else {
		const { nativeNode } = await import("./pgNative.mjs");
		node = await nativeNode(options, hooks);
	}
	await send({ type: "ready" });
} catch (err) {
	await fail(err);
}
