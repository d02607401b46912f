// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { TaskStatus } from "@twin.org/background-task-models";
import type { ITaskSource } from "../contracts/ITaskSource.js";
import type {
	IBackgroundTaskStatistics,
	ITaskStatusCounts
} from "../models/IBackgroundTaskStatistics.js";
import type { Scheduler } from "../scheduling/scheduler.js";

/**
 * The most tasks getStatistics() reads over entity storage (a bounded scan).
 */
const STATISTICS_SCAN_LIMIT = 100_000;

/**
 * The statistics of getStatistics(): the source's counts per type and status and its paused
 * types, and the scheduler's figures for this node.
 * @param source The task source.
 * @param scheduler The scheduler.
 * @param taskType Only this type, when set.
 * @returns The statistics.
 */
export async function readStatistics(
	source: ITaskSource,
	scheduler: Scheduler,
	taskType: string | undefined
): Promise<IBackgroundTaskStatistics> {
	const [{ counts, complete }, pausedTypes] = await Promise.all([
		source.counts(taskType, STATISTICS_SCAN_LIMIT),
		source.pausedTypes()
	]);
	const types: { [type: string]: ITaskStatusCounts } = {};
	for (const [type, byStatus] of Object.entries(counts)) {
		types[type] = {
			pending: byStatus[TaskStatus.Pending] ?? 0,
			processing: byStatus[TaskStatus.Processing] ?? 0,
			success: byStatus[TaskStatus.Success] ?? 0,
			failed: byStatus[TaskStatus.Failed] ?? 0,
			cancelled: byStatus[TaskStatus.Cancelled] ?? 0
		};
	}
	return {
		types,
		complete,
		pausedTypes: taskType === undefined ? pausedTypes : pausedTypes.filter(t => t === taskType),
		...scheduler.statistics()
	};
}
