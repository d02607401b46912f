// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * How the runner runs a statement. Every call says whether its statement is idempotent.
 */
export interface IStatementOptions {
	/**
	 * Whether running the statement twice does no harm (a read, a delete by id, a renewal, a
	 * create with its own ids). Only an idempotent statement is repeated when its connection is
	 * lost: a lost connection leaves unknown whether the statement committed, and a
	 * non-idempotent one (a claim, a settle, a retry, a cancel, a sweep) might have.
	 */
	idempotent: boolean;

	/**
	 * False to run an idempotent statement once all the same, because its caller repeats it in
	 * its own way (the next heartbeat, the task runner's retry of a claim, the scheduler's next
	 * scan), where a repeat here would only hold the caller up.
	 */
	repeat?: false;

	/**
	 * The pool: "session" or "scheduler" (the connection of the scheduler's claims and settles,
	 * else the session's pool) for what only an open session may do, refused with notOpen while
	 * none is; by default the session's pool while one is open, else the pool that connects on
	 * first use.
	 */
	on?: "session" | "scheduler";

	/**
	 * The statement's name: when given, the wait for it is bounded by the statement deadline
	 * (StatementRunner.bounded) and the name is the statementTimedOut error's `what`.
	 */
	deadline?: string;

	/**
	 * The deadline times this, for a unit of several statements that each may take it (a
	 * createMany's chunks); 1 by default.
	 */
	deadlineScale?: number;
}
