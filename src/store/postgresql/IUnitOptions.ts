// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IStatementOptions } from "./IStatementOptions.js";

/**
 * How the runner runs a unit of several statements.
 */
export interface IUnitOptions<T> extends IStatementOptions {
	/**
	 * Run the unit in one transaction (stored whole or not at all).
	 */
	transaction?: boolean;

	/**
	 * For a create repeated after a lost connection or its deadline: the lost attempt may have
	 * committed before its answer was lost, and then the repeat fails on the primary key (the ids
	 * are the create's own, so nothing is stored twice). Says whether the create is stored, and
	 * what to return then.
	 */
	ifStored?: () => Promise<{ value: T } | undefined>;
}
