// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { TaskColumn } from "./columns.js";

/**
 * The types a number column of an existing table may have that start() changes to the column's
 * own (as the shipped migration does): a table made by TWIN's connector bootstrap has an INTEGER
 * retainUntil, which cannot hold epoch milliseconds, and REAL numbers, which lose precision.
 */
const NUMBER_FROM = ["real", "integer", "bigint", "numeric"];

/**
 * The columns whose type start() and the shipped migration fix, with the types fixed from, in
 * the migration's order.
 */
export const TYPE_FIXES: readonly { column: TaskColumn; from: readonly string[] }[] = [
	{ column: "retainUntil", from: ["integer", "smallint", "numeric", "real", "double precision"] },
	{ column: "retryInterval", from: NUMBER_FROM },
	{ column: "retriesRemaining", from: NUMBER_FROM },
	{ column: "retainFor", from: NUMBER_FROM },
	{ column: "retryMaxInterval", from: NUMBER_FROM }
];
