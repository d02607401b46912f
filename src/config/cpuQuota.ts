// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/**
 * Reads a file's text, or undefined when it cannot be read.
 */
export type ReadText = (path: string) => string | undefined;

/**
 * The most worker threads a pool may have (the bound of config.maxWorkers).
 */
export const MAX_WORKERS = 256;

/**
 * A file's text, or undefined.
 * @param path The path.
 * @returns The text.
 */
function readText(path: string): string | undefined {
	try {
		return readFileSync(path, "utf8");
	} catch {
		return undefined;
	}
}

/**
 * The CPUs a Linux control group lets this process use, when it sets a quota: cgroup v2's
 * cpu.max ("quota period") or cgroup v1's cpu.cfs_quota_us over cpu.cfs_period_us, for this
 * process's group and each group above it (the smallest wins), read under /sys/fs/cgroup as a
 * container sees its own groups. Node 20's availableParallelism() (libuv 1.46) counts the CPUs
 * the process may run on, not the quota: in a container limited to 2 CPUs on a 64-core host it
 * says 64. Undefined when no quota applies, or off Linux.
 * @param read Reads a file (tests give their own).
 * @returns The CPUs, possibly fractional.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
	const groups = read("/proc/self/cgroup");
	if (groups === undefined) {
		return undefined;
	}
	let quota: number | undefined;
	const lower = (cpus: number | undefined): void => {
		if (cpus !== undefined && cpus > 0 && (quota === undefined || cpus < quota)) {
			quota = cpus;
		}
	};
	for (const line of groups.split("\n")) {
		// "hierarchy:controllers:path": "0::/path" for v2, "4:cpu,cpuacct:/path" for v1.
		const [hierarchy, controllers, path] = line.split(":", 3);
		if (path === undefined) {
			continue;
		}
		if (hierarchy === "0" && controllers === "") {
			for (const dir of ancestors(path)) {
				lower(v2Quota(read(`/sys/fs/cgroup${dir}/cpu.max`)));
			}
		} else if (controllers.split(",").includes("cpu")) {
			for (const mount of ["cpu", "cpu,cpuacct", "cpuacct,cpu"]) {
				for (const dir of ancestors(path)) {
					const base = `/sys/fs/cgroup/${mount}${dir}`;
					lower(v1Quota(read(`${base}/cpu.cfs_quota_us`), read(`${base}/cpu.cfs_period_us`)));
				}
			}
		}
	}
	return quota;
}

/**
 * The default number of worker threads: the CPUs this process may run on, no more than its
 * control group's CPU quota (rounded down, at least 1) and MAX_WORKERS.
 * @param read Reads a file (tests give their own).
 * @param cpus The CPUs the process may run on (availableParallelism()).
 * @returns The number.
 */
export function defaultMaxWorkers(
	read: ReadText = readText,
	cpus: number = availableParallelism()
): number {
	const quota = cgroupCpuQuota(read);
	const limited = quota === undefined ? cpus : Math.min(cpus, Math.floor(quota));
	return Math.min(MAX_WORKERS, Math.max(1, limited));
}

/**
 * A group's path and those of the groups above it, the group's own first ("/a/b", "/a", "").
 * @param path The group's path ("/" for the root).
 * @returns The paths, each "" or starting with "/".
 */
function ancestors(path: string): string[] {
	const parts = path
		.trim()
		.split("/")
		.filter(part => part.length > 0);
	const out: string[] = [];
	for (let i = parts.length; i >= 0; i--) {
		out.push(i === 0 ? "" : `/${parts.slice(0, i).join("/")}`);
	}
	return out;
}

/**
 * The CPUs of a cgroup v2 cpu.max: "max 100000" sets none, "200000 100000" two.
 * @param text The file's text.
 * @returns The CPUs, or undefined.
 */
function v2Quota(text: string | undefined): number | undefined {
	const [quota, period] = (text ?? "").trim().split(/\s+/);
	return ratio(quota, period);
}

/**
 * The CPUs of a cgroup v1 quota and period: a quota of -1 sets none.
 * @param quota The cpu.cfs_quota_us text.
 * @param period The cpu.cfs_period_us text.
 * @returns The CPUs, or undefined.
 */
function v1Quota(quota: string | undefined, period: string | undefined): number | undefined {
	return ratio(quota?.trim(), period?.trim());
}

/**
 * Quota over period, when both are positive integers.
 * @param quota The quota's text.
 * @param period The period's text.
 * @returns The ratio, or undefined.
 */
function ratio(quota: string | undefined, period: string | undefined): number | undefined {
	const q = Number(quota);
	const p = Number(period);
	return /^\d+$/.test(quota ?? "") && /^\d+$/.test(period ?? "") && q > 0 && p > 0
		? q / p
		: undefined;
}
