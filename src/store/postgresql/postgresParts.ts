// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IResolvedPostgresConfig } from "../../config/IResolvedPostgresConfig.js";
import type { TaskLog } from "../../utils/taskLog.js";
import { HeldTasks } from "./heldTasks.js";
import type { IPostgresParts } from "./IPostgresParts.js";
import { AbortRequests } from "./abortRequests.js";
import { LeaseKeeper } from "./leaseKeeper.js";
import { PostgresPools } from "./postgresPools.js";
import { PostgresSession } from "./postgresSession.js";
import { PostgresStatements } from "./postgresStatements.js";
import { StatementRunner } from "./statementRunner.js";
import { TaskClaims } from "./taskClaims.js";
import { TaskSettles } from "./taskSettles.js";
import { TableUpkeep } from "./tableUpkeep.js";
import { TaskTable } from "./taskTable.js";
import { ScheduleTable } from "./scheduleTable.js";
import { TypePauses } from "./typePauses.js";

/**
 * The shortest time a claim, settle, heartbeat or unclaim statement is waited for
 * (StatementRunner's deadline); the lease timeout when longer.
 */
const MIN_STATEMENT_DEADLINE_MS = 5000;

/**
 * Build the parts of the native backend and wire them to one another.
 * @param source The class name for errors.
 * @param config The resolved config.
 * @param log The log.
 * @param overrides Settings tests shorten.
 * @param overrides.connectTimeout Seconds to wait for a connection (default: the config's).
 * @param overrides.localQueueTtl How long a fetched task may wait unstarted, ms (default 5 min).
 * @param overrides.statementDeadline How long a statement may go unanswered, ms (default: the
 * lease timeout, at least MIN_STATEMENT_DEADLINE_MS).
 * @returns The parts.
 */
export function buildPostgresParts(
	source: string,
	config: IResolvedPostgresConfig,
	log: TaskLog | undefined,
	overrides: { connectTimeout?: number; localQueueTtl?: number; statementDeadline?: number }
): IPostgresParts {
	const statements = new PostgresStatements(config.tableName);
	const pools = new PostgresPools(
		source,
		config,
		statements.channel,
		log,
		overrides.connectTimeout ?? config.connectTimeout
	);
	const runner = new StatementRunner(
		source,
		pools,
		overrides.statementDeadline ?? Math.max(MIN_STATEMENT_DEADLINE_MS, config.leaseTimeout)
	);
	const held = new HeldTasks();
	const upkeep = new TableUpkeep(runner, statements, config.vacuumEvery, () => session.owner, log);
	const pauses = new TypePauses(runner, statements, () => session.owner, log);
	const schedules = new ScheduleTable(runner, statements, () => session.owner, log);
	const aborts = new AbortRequests(runner, statements, held, () => session.owner, log);
	const session: PostgresSession = new PostgresSession(
		pools,
		runner,
		statements,
		config.heartbeatInterval,
		log,
		{
			beat: async (): Promise<void> => claims.beat(),
			close: async (): Promise<void> => {
				await claims.fetchesDone();
				await settles.drain();
				await claims.giveBackAll();
				await upkeep.idle();
			}
		},
		pauses,
		schedules,
		aborts
	);
	const leases = new LeaseKeeper(held, runner, statements, config.leaseTimeout, log, aborts);
	const claims: TaskClaims = new TaskClaims(
		config,
		runner,
		statements,
		session,
		held,
		leases,
		log,
		upkeep,
		overrides.localQueueTtl
	);
	const table = new TaskTable(source, runner, statements, session, held);
	const settles = new TaskSettles(
		runner,
		statements,
		session,
		held,
		async id => table.get(id),
		log,
		upkeep
	);
	return { statements, pools, held, session, claims, settles, table, pauses, schedules, aborts };
}
