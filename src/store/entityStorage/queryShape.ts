// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { ComparisonOperator, SortDirection, type EntityCondition } from "@twin.org/entity";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { IConnectorProfile } from "./connectorProfiles.js";

/**
 * One comparison: the only kind of condition a query may carry (the PostgreSQL connector numbers
 * placeholders wrongly with two or more).
 */
export type SingleCondition = Extract<EntityCondition<BackgroundTask>, { comparison: unknown }>;

/**
 * One sort key of a query.
 */
export interface ISortKey {
	/**
	 * The property sorted by.
	 */
	property: keyof BackgroundTask;

	/**
	 * The direction.
	 */
	sortDirection: SortDirection;
}

/**
 * A single equality condition.
 * @param property The property.
 * @param value The value.
 * @returns The condition.
 */
export function equals(property: keyof BackgroundTask, value: unknown): SingleCondition {
	return { property, comparison: ComparisonOperator.Equals, value };
}

/**
 * The last sort key of every query: ids are unique, so the order is total and a cursor walks each
 * task once. The PostgreSQL connector pages by OFFSET, and pages of an order with ties (tasks
 * created in the same millisecond) repeat some tasks and skip others.
 */
const BY_ID = { property: "id", sortDirection: SortDirection.Ascending } as const;

/**
 * The sort keys and properties to read that one connector takes, from its profile: no more sort
 * keys than it takes (DynamoDB: one), id last unless its order is total already, and the
 * properties to read only where it escapes their names (DynamoDB does not: `type` and `status`
 * are reserved words there).
 */
export class QueryShape {
	/**
	 * The sort keys appended to every query's: id, unless the connector's order is total already.
	 * @internal
	 */
	private readonly _lastSort: (typeof BY_ID)[];

	/**
	 * Create a new QueryShape.
	 * @param profile What the connector supports.
	 */
	constructor(private readonly profile: IConnectorProfile) {
		this._lastSort = profile.stableOrder ? [] : [BY_ID];
	}

	/**
	 * The sort argument for a query.
	 * @param sort The sort keys asked for, the first one deciding.
	 * @returns The keys the connector takes, or undefined for none.
	 */
	public sortKeys(sort: ISortKey[]): ISortKey[] | undefined {
		const keys = [...sort, ...this._lastSort].slice(0, this.profile.maxSortKeys);
		// No keys at all is no sort argument: the SQL connectors turn [] into an empty ORDER BY.
		return keys.length > 0 ? keys : undefined;
	}

	/**
	 * The properties argument for a query.
	 * @param properties The properties asked for, default all.
	 * @returns Those properties, or undefined (all) where the connector cannot take them.
	 */
	public properties(
		properties: (keyof BackgroundTask)[] | undefined
	): (keyof BackgroundTask)[] | undefined {
		return this.profile.projections ? properties : undefined;
	}
}
