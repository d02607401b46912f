// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What this package may ask of one TWIN entity-storage connector, and how it must read the
 * answers. Each field is a fact read from the connector's code (docs/storage-backends.md has
 * the table it comes from); a connector this package does not know gets UNKNOWN_CONNECTOR, which
 * assumes only what every connector does.
 */
export interface IConnectorProfile {
	/**
	 * How many sort properties a query may carry (DynamoDB throws `sortSingle` past one).
	 */
	readonly maxSortKeys: number;

	/**
	 * Whether a query may name the properties to read. DynamoDB puts them unescaped into its
	 * ProjectionExpression, where `type` and `status` are reserved words; an unknown connector may
	 * do the same.
	 */
	readonly projections: boolean;

	/**
	 * Where tasks without the sort property come when sorting ascending by dateNextProcess:
	 * "last" (PostgreSQL, the in-process sort of memory and file), "excluded" (DynamoDB sorts
	 * through a sparse index that holds only items with the property), "first" (MySQL and
	 * MariaDB), or "unknown". Only "last" and "excluded" let a scan stop at the first task
	 * without a due date.
	 */
	readonly missingSortValues: "last" | "first" | "excluded" | "unknown";

	/**
	 * Whether ties in the sort keep the stored order (an in-process stable sort paged by index),
	 * so `id` need not be added as a last sort key.
	 */
	readonly stableOrder: boolean;

	/**
	 * Whether calls must run one at a time: the file connector rewrites its whole file on every
	 * write, without a lock.
	 */
	readonly serialCalls: boolean;

	/**
	 * Whether JSON strings and booleans in object columns are written JSON-encoded: the PostgreSQL
	 * connector JSON.parses every object value that reads back as a string, and refuses booleans.
	 */
	readonly encodeScalars: boolean;

	/**
	 * Whether object columns may come back as their JSON text: the MySQL connector on MariaDB,
	 * whose JSON type is LONGTEXT. Which a server does is found once, by a probe (see
	 * StorageAdapter).
	 */
	readonly jsonMayBeText: boolean;

	/**
	 * How a property the task lacks is written: "undefined" (the connector clears the column or
	 * field: NULL, null, removed) or "omit" (left out of the entity: Firestore throws on an
	 * undefined value, and its set replaces the whole document, so an omitted field is cleared).
	 */
	readonly absentAs: "undefined" | "omit";

	/**
	 * Why this package cannot use the connector at all, when it cannot: every call fails with an
	 * error naming the connector, this reason and the fix, before anything is written.
	 */
	readonly unsupported?: string;
}

/**
 * What every connector does: one sort property, no projection, nothing known about where missing
 * values sort, ties ordered by id.
 */
export const UNKNOWN_CONNECTOR: IConnectorProfile = {
	maxSortKeys: 1,
	projections: false,
	missingSortValues: "unknown",
	stableOrder: false,
	serialCalls: false,
	encodeScalars: false,
	jsonMayBeText: false,
	absentAs: "undefined"
};

/**
 * The connectors this package knows, by CLASS_NAME.
 */
const PROFILES: { readonly [className: string]: IConnectorProfile } = {
	MemoryEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		missingSortValues: "last",
		stableOrder: true,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "undefined"
	},
	FileEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		missingSortValues: "last",
		stableOrder: true,
		serialCalls: true,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "undefined"
	},
	PostgreSqlEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		missingSortValues: "last",
		stableOrder: false,
		serialCalls: false,
		encodeScalars: true,
		jsonMayBeText: false,
		absentAs: "undefined"
	},
	MySqlEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		missingSortValues: "first",
		stableOrder: false,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: true,
		absentAs: "undefined"
	},
	DynamoDbEntityStorageConnector: {
		maxSortKeys: 1,
		projections: false,
		missingSortValues: "excluded",
		// Pages follow LastEvaluatedKey, not an offset: ties cannot repeat or skip.
		stableOrder: true,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "undefined"
	},
	MongoDbEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		missingSortValues: "first",
		// Pages by skip over an order whose ties vary per query: id breaks them.
		stableOrder: false,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		// Its set is a $set of the fields present; undefined is stored as null.
		absentAs: "undefined"
	},
	CosmosDbEntityStorageConnector: {
		maxSortKeys: 1,
		// It does not escape names, but none of this package's properties is a keyword there.
		projections: true,
		missingSortValues: "first",
		// Pages follow a continuation token, not an offset.
		stableOrder: true,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "undefined"
	},
	FirestoreEntityStorageConnector: {
		maxSortKeys: Number.POSITIVE_INFINITY,
		projections: true,
		// Absent fields are omitted (absentAs), and orderBy leaves out documents without the field.
		missingSortValues: "excluded",
		// Ties are ordered by document id, and pages start after the last document read.
		stableOrder: true,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "omit"
	},
	ScyllaDBTableConnector: {
		maxSortKeys: 0,
		projections: false,
		missingSortValues: "unknown",
		stableOrder: true,
		serialCalls: false,
		encodeScalars: false,
		jsonMayBeText: false,
		absentAs: "undefined",
		unsupported:
			"its object columns take only strings, it sorts only by threadId, it refuses conditions " +
			"on columns that are not keys or indexed, and it drops 0, false and empty strings"
	}
};

/**
 * The profile of a connector.
 * @param className The connector's CLASS_NAME.
 * @returns Its profile, or UNKNOWN_CONNECTOR.
 */
export function connectorProfile(className: string | undefined): IConnectorProfile {
	return (className !== undefined && PROFILES[className]) || UNKNOWN_CONNECTOR;
}
