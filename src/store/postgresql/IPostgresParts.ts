// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { AbortRequests } from "./abortRequests.js";
import type { HeldTasks } from "./heldTasks.js";
import type { PostgresPools } from "./postgresPools.js";
import type { PostgresSession } from "./postgresSession.js";
import type { PostgresStatements } from "./postgresStatements.js";
import type { TaskClaims } from "./taskClaims.js";
import type { TaskSettles } from "./taskSettles.js";
import type { TaskTable } from "./taskTable.js";
import type { ScheduleTable } from "./scheduleTable.js";
import type { TypePauses } from "./typePauses.js";

/**
 * The parts of the native backend, each with one job, as buildPostgresParts wires them.
 */
export interface IPostgresParts {
	/**
	 * The statements for the table.
	 */
	statements: PostgresStatements;

	/**
	 * The connections.
	 */
	pools: PostgresPools;

	/**
	 * The tasks this instance holds a lease on.
	 */
	held: HeldTasks;

	/**
	 * The session: lease owner id, heartbeat timer, LISTEN/NOTIFY.
	 */
	session: PostgresSession;

	/**
	 * Fetch, claim and give back.
	 */
	claims: TaskClaims;

	/**
	 * The fenced, batched settles.
	 */
	settles: TaskSettles;

	/**
	 * The plain reads and writes.
	 */
	table: TaskTable;

	/**
	 * The paused types, stored for every node.
	 */
	pauses: TypePauses;

	/**
	 * The recurring tasks' schedules.
	 */
	schedules: ScheduleTable;

	/**
	 * The aborts asked of running tasks.
	 */
	aborts: AbortRequests;
}
