// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The default worker count within a Linux control group's CPU quota, from files the tests give.
import { describe, expect, test } from "vitest";
import { cgroupCpuQuota, defaultMaxWorkers, MAX_WORKERS } from "../src/config/cpuQuota.js";

/**
 * A reader over fixed files.
 * @param files The files' texts by path.
 * @returns The reader.
 */
function files(files: { [path: string]: string }): (path: string) => string | undefined {
	return path => files[path];
}

describe("the default number of worker threads", () => {
	test("cgroup v2, in a container's own namespace: cpu.max at the root of its view", () => {
		const read = files({
			"/proc/self/cgroup": "0::/\n",
			"/sys/fs/cgroup/cpu.max": "200000 100000\n"
		});
		expect(cgroupCpuQuota(read)).toBe(2);
		expect(defaultMaxWorkers(read, 64)).toBe(2);
	});

	test("cgroup v2: the smallest quota of the group and the groups above it; max sets none", () => {
		const read = files({
			"/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
			"/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000",
			"/sys/fs/cgroup/kubepods/pod1/cpu.max": "350000 100000",
			"/sys/fs/cgroup/kubepods/cpu.max": "800000 100000",
			"/sys/fs/cgroup/cpu.max": "max 100000"
		});
		expect(cgroupCpuQuota(read)).toBe(3.5);
		// Rounded down: 3.5 CPUs run 3 workers busy at once without throttling.
		expect(defaultMaxWorkers(read, 64)).toBe(3);
	});

	test("cgroup v1: cpu.cfs_quota_us over cpu.cfs_period_us; -1 sets none", () => {
		const read = files({
			"/proc/self/cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n",
			"/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000\n",
			"/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"
		});
		expect(cgroupCpuQuota(read)).toBe(1.5);
		expect(defaultMaxWorkers(read, 8)).toBe(1);
	});

	test("no quota, no cgroup file (not Linux), or a quota above the CPUs: the CPUs, at most MAX_WORKERS, at least 1", () => {
		expect(cgroupCpuQuota(files({}))).toBeUndefined();
		expect(defaultMaxWorkers(files({}), 12)).toBe(12);
		expect(defaultMaxWorkers(files({}), 1000)).toBe(MAX_WORKERS);
		const unlimited = files({
			"/proc/self/cgroup": "0::/\n",
			"/sys/fs/cgroup/cpu.max": "max 100000"
		});
		expect(cgroupCpuQuota(unlimited)).toBeUndefined();
		const wide = files({
			"/proc/self/cgroup": "0::/\n",
			"/sys/fs/cgroup/cpu.max": "1600000 100000"
		});
		expect(defaultMaxWorkers(wide, 4)).toBe(4);
		const tiny = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "50000 100000" });
		expect(defaultMaxWorkers(tiny, 4)).toBe(1);
		const garbled = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "lots 0" });
		expect(cgroupCpuQuota(garbled)).toBeUndefined();
	});
});
