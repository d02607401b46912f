// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskLog } from "../../utils/taskLog.js";
import type { PostgresStatements } from "./postgresStatements.js";
import type { StatementRunner } from "./statementRunner.js";

/**
 * The shortest time between two looks at the table's dead rows by one node, ms: a node settling
 * tens of thousands of tasks a second gains nothing from more, and an idle one never looks.
 */
export const UPKEEP_MIN_GAP_MS = 1000;

/**
 * The claims a vacuum is for: fewer tasks than this a claim statement on average since the
 * node's last look. A claim steps over the dead entries once for its whole batch, so large
 * batches (a backlog) barely feel them, while a vacuum of a table that busy costs more than the
 * walks it saves (docs/performance.md).
 */
export const SMALL_CLAIM_TASKS = 32;

/**
 * Keeps the head of the claim index short. A settle that makes a task final (or due later)
 * leaves a dead entry at the head of the claim index, and every claim steps over the dead
 * entries until a vacuum removes them. Autovacuum comes at most once a minute, and on a large
 * table only after a fifth of it is dead; meanwhile nodes that claim a few tasks at a time pay the
 * walk for each few (docs/scale-out.md, "Dead row versions").
 *
 * So a node whose claims have been small (SMALL_CLAIM_TASKS), having settled a quarter of `every`
 * tasks since it last looked (and at most once a UPKEEP_MIN_GAP_MS), reads the table's dead rows
 * from the server's statistics, which count every node's settles, and vacuums the table when
 * they reach `every`: the nodes share one count, so they do not all vacuum together, and the
 * vacuum that one starts resets it for all. One look or vacuum at a time, never waiting for
 * another vacuum of the table (sql/vacuum.ts), never holding up a settle or a claim. When the
 * role may not vacuum the table (it owns neither the table nor the database), or `every` is 0,
 * autovacuum alone does it.
 */
export class TableUpkeep {
	/**
	 * Tasks settled since the last look.
	 * @internal
	 */
	private _settled = 0;

	/**
	 * Claim statements since the last look.
	 * @internal
	 */
	private _claims = 0;

	/**
	 * Tasks claimed since the last look.
	 * @internal
	 */
	private _claimed = 0;

	/**
	 * The look (and vacuum) in flight.
	 * @internal
	 */
	private _running?: Promise<void>;

	/**
	 * When the last look ended (performance.now()).
	 * @internal
	 */
	private _endedAt = Number.NEGATIVE_INFINITY;

	/**
	 * The session (its lease owner id) whose role may not vacuum the table: it looks no more.
	 * @internal
	 */
	private _refusedIn = "";

	/**
	 * Create a new TableUpkeep.
	 * @param _runner Runs the statements.
	 * @param _statements The statements.
	 * @param _every Dead rows at which to vacuum; 0 never vacuums.
	 * @param _owner The current session's lease owner id.
	 * @param _log The log.
	 */
	constructor(
		private readonly _runner: StatementRunner,
		private readonly _statements: PostgresStatements,
		private readonly _every: number,
		private readonly _owner: () => string,
		private readonly _log: TaskLog | undefined
	) {}

	/**
	 * A claim statement took tasks.
	 * @param count How many (0 when it found none).
	 */
	public claimed(count: number): void {
		this._claims++;
		this._claimed += count;
	}

	/**
	 * Tasks were settled (their rows written or removed): look at the dead rows when enough were
	 * since the last look and the claims meanwhile were small.
	 * @param count How many.
	 */
	public settled(count: number): void {
		if (this._every === 0) {
			return;
		}
		this._settled += count;
		if (
			this._settled * 4 < this._every ||
			this._running !== undefined ||
			performance.now() - this._endedAt < UPKEEP_MIN_GAP_MS ||
			!this._runner.isOpen ||
			this._refusedIn === this._owner()
		) {
			return;
		}
		const small = this._claimed < this._claims * SMALL_CLAIM_TASKS;
		this._settled = 0;
		this._claims = 0;
		this._claimed = 0;
		if (!small) {
			this._endedAt = performance.now();
			return;
		}
		this._running = this.look().finally(() => {
			this._endedAt = performance.now();
			this._running = undefined;
		});
	}

	/**
	 * Wait for the look or vacuum in flight, if any (before the session's connections close).
	 */
	public async idle(): Promise<void> {
		await this._running;
	}

	/**
	 * Read the dead rows, and vacuum when they reach `every`. A failure is logged, and the next
	 * look comes after as many settles again.
	 * @internal
	 */
	private async look(): Promise<void> {
		const options = { idempotent: true, repeat: false, on: "session", deadline: "vacuum" } as const;
		try {
			const owner = this._owner();
			const [row] = await this._runner.run<{ dead: string | number; allowed: boolean | null }[]>(
				this._statements.deadRows,
				[this._statements.table],
				options
			);
			if (row?.allowed !== true) {
				this._refusedIn = owner;
				this._log?.log("info", "vacuumNotAllowed", { table: this._statements.table });
				return;
			}
			if (Number(row.dead) >= this._every) {
				await this._runner.run(this._statements.vacuum, [], options);
			}
		} catch (err) {
			this._log?.log("warn", "vacuumFailed", { table: this._statements.table }, err);
		}
	}
}
