// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The names a statement splices into its text, all derived from the checked table name and
 * quoted (values always arrive as parameters).
 */
export interface ISqlNames {
	/**
	 * The quoted task table.
	 */
	readonly table: string;

	/**
	 * The entity's columns, quoted, comma separated.
	 */
	readonly columns: string;

	/**
	 * The entity's columns of the target aliased t, for RETURNING.
	 */
	readonly returning: string;

	/**
	 * The quoted table of rate-limit windows.
	 */
	readonly rateTable: string;

	/**
	 * The quoted table of serial types' holders.
	 */
	readonly serialTable: string;

	/**
	 * The quoted table of paused types.
	 */
	readonly pausedTable: string;

	/**
	 * The quoted table of recurring tasks' schedules.
	 */
	readonly schedulesTable: string;
}
