// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Helpers of the throw-away server launchers (scripts/servers/mariadb.mjs, postgres.mjs): a free
// port, a system user's ids, a child's failure text, whether a process exists, and server
// directories that name the process owning them.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * The file in a server's directory naming the pid of the process that owns it.
 */
const OWNER_FILE = "owner.pid";

/**
 * This process's PID namespace ("pid:[4026531836]"), or "" where /proc does not say. A pid means
 * nothing outside its namespace, and /tmp may be shared by processes in several (CI containers).
 * @returns {string} The namespace.
 */
function pidNamespace() {
	try {
		return readlinkSync("/proc/self/ns/pid");
	} catch {
		return "";
	}
}

/**
 * A new temporary directory for a server, naming this process as its owner.
 * @param {string} prefix The directory name's start.
 * @returns {string} The directory.
 */
export function ownedTempDir(prefix) {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${pidNamespace()}`);
	return dir;
}

/**
 * The servers' directories whose owning process is gone (one killed with SIGKILL cannot clean
 * up, and its server outlives it): only directories with an owner file naming this PID namespace,
 * only when that pid no longer exists.
 * @param {string} prefix The directory names' start.
 * @returns {string[]} The directories.
 */
export function orphanedTempDirs(prefix) {
	let names;
	try {
		names = readdirSync(tmpdir()).filter(n => n.startsWith(prefix));
	} catch {
		return [];
	}
	return names
		.map(name => join(tmpdir(), name))
		.filter(dir => {
			try {
				const [pid, namespace = ""] = readFileSync(join(dir, OWNER_FILE), "utf8").split(" ");
				const owner = Number(pid);
				// Only an owner of this namespace can be known to be gone.
				return (
					namespace === pidNamespace() && Number.isInteger(owner) && owner > 0 && !isAlive(owner)
				);
			} catch {
				return false;
			}
		});
}
