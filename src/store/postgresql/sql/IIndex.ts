// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * An index the native backend creates on its task table (indexes.ts).
 */
export interface IIndex {
	/**
	 * The suffix that, appended to the table name, names the index.
	 */
	readonly suffix: string;

	/**
	 * The key columns and expressions, as SQL.
	 */
	readonly keys: string;

	/**
	 * Whether the index is unique.
	 */
	readonly unique?: boolean;

	/**
	 * The condition of a partial index.
	 */
	readonly where?: string;
}
