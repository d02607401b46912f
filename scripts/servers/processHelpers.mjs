// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Helpers of the throw-away server launchers (scripts/servers/mariadb.mjs,
// bench/lib/postgresServer.mjs): a free port, a system user's ids, a child's failure text, whether
// a process exists.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A free TCP port on the loopback interface.
 * @returns {Promise<number>} The port.
 */
export function freePort() {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() =>
				typeof address === "object" && address
					? resolve(address.port)
					: reject(new Error("no port"))
			);
		});
	});
}

/**
 * The uid and gid of a user, from /etc/passwd.
 * @param {string} user The user name.
 * @returns {{ uid: number, gid: number } | undefined} The ids, or undefined when the user does
 *   not exist.
 */
export function userIds(user) {
	const line = readFileSync("/etc/passwd", "utf8")
		.split("\n")
		.find(l => l.startsWith(`${user}:`));
	if (!line) {
		return undefined;
	}
	const [, , uid, gid] = line.split(":");
	return { uid: Number(uid), gid: Number(gid) };
}

/**
 * The message of a failed child process, with its output.
 * @param {any} err The error.
 * @returns {string} The message.
 */
export function describeError(err) {
	return [err?.message, err?.stdout].filter(s => s && s.trim().length > 0).join("\n");
}

/**
 * Whether a process exists.
 * @param {number} pid The pid.
 * @returns {boolean} True when it exists.
 */
export function isAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return err?.code === "EPERM";
	}
}
