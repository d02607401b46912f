// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * One settle waiting to be written in a batch: the task's fence and its new columns, as one
 * record of the settle statement's JSON parameter.
 */
export interface ISettleEntry {
	/**
	 * The task id.
	 */
	id: string;

	/**
	 * The lease owner that claimed it.
	 */
	owner: string;

	/**
	 * The claim's dateModified.
	 */
	claimedAt: string;

	/**
	 * Remove the task instead of writing it.
	 */
	remove: boolean;

	/**
	 * The settle columns (status, dates, numbers, result, error), JSONB values as stored.
	 */
	[column: string]: unknown;
}
