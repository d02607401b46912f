// The public names of the strict storage double and the record, sort, condition and query shapes
// its core and profiles share.
import type { ComparisonOperator, LogicalOperator } from "@twin.org/entity";

/**
 * The connectors the double can stand for.
 */
export type StrictProfile =
	| "mongodb"
	| "cosmosdb"
	| "firestore"
	| "scylladb"
	| "dynamodb"
	| "mysql";

/**
 * The real connectors' CLASS_NAME values (read from each package's dist/esm/index.mjs).
 */
export const STRICT_CLASS_NAMES: { [profile in StrictProfile]: string } = {
	mongodb: "MongoDbEntityStorageConnector",
	cosmosdb: "CosmosDbEntityStorageConnector",
	firestore: "FirestoreEntityStorageConnector",
	scylladb: "ScyllaDBTableConnector",
	dynamodb: "DynamoDbEntityStorageConnector",
	mysql: "MySqlEntityStorageConnector"
};

/**
 * Options of the double.
 */
export interface IStrictStorageOptions {
	/**
	 * The connector to behave as.
	 */
	profile: StrictProfile;

	/**
	 * The entity schema name, default "BackgroundTask".
	 */
	entitySchema?: string;

	/**
	 * scylladb: columns that have a secondary index (CREATE INDEX, made by hand: the connector makes
	 * none); a single Equals on one of them can run. Default none.
	 */
	scyllaIndexes?: string[];

	/**
	 * scylladb: the column type of date-time properties in the hand-made table: "timestamp" (the
	 * connector's own mapping; reads give Date objects) or "text". Default "timestamp".
	 */
	scyllaDates?: "timestamp" | "text";

	/**
	 * mysql: the server. "mariadb" (JSON is LONGTEXT: object columns read back as JSON text) or
	 * "mysql" (mysql2 parses JSON columns). Default "mariadb", the server on this machine.
	 */
	mysqlServer?: "mariadb" | "mysql";

	/**
	 * Seed of the order of ties on the stores that leave it unspecified per query (mongodb, mysql).
	 */
	seed?: number;
}

/**
 * A call outside what the real connector supports.
 */
export class StrictRuleError extends Error {
	/**
	 * Create a new StrictRuleError.
	 * @param profile The profile.
	 * @param rule The rule broken.
	 * @param detail What the real connector or database says.
	 */
	constructor(
		public readonly profile: StrictProfile,
		public readonly rule: string,
		detail?: string
	) {
		super(`strict ${profile}: ${rule}${detail ? ` (${detail})` : ""}`);
		this.name = "StrictRuleError";
	}
}

/**
 * A record as the database holds it.
 */
export type Data = { [key: string]: unknown };

/**
 * A stored record (a document, item or row).
 */
export interface IStored {
	/**
	 * Insertion sequence (Cosmos tie order, Mongo natural order and _id).
	 */
	seq: number;

	/**
	 * The values as the database holds them.
	 */
	data: Data;
}

/**
 * One sort key as the query uses it.
 */
export interface ISortKey {
	/**
	 * The property.
	 */
	property: string;

	/**
	 * The direction.
	 */
	descending: boolean;
}

/**
 * The comparison of one condition.
 */
export interface IComparison {
	/**
	 * The property.
	 */
	property: string;

	/**
	 * The operator.
	 */
	comparison: ComparisonOperator;

	/**
	 * The value.
	 */
	value: unknown;
}

/**
 * A group of conditions.
 */
export interface IGroup {
	/**
	 * The conditions.
	 */
	conditions: Condition[];

	/**
	 * The operator.
	 */
	logicalOperator?: LogicalOperator;
}

/**
 * A condition: a comparison or a group.
 */
export type Condition = IComparison | IGroup;

/**
 * A query after its arguments were checked.
 */
export interface IQuery {
	/**
	 * The condition.
	 */
	condition?: Condition;

	/**
	 * The sort keys.
	 */
	sorts: ISortKey[];

	/**
	 * The properties to return, default all.
	 */
	projection?: string[];

	/**
	 * The cursor of the page.
	 */
	cursor?: string;

	/**
	 * The page size.
	 */
	size: number;

	/**
	 * The number of the query, for the per-query order of ties.
	 */
	queryNumber: number;
}

/**
 * A page of a query.
 */
export interface IPage {
	/**
	 * The entities.
	 */
	entities: Data[];

	/**
	 * The cursor of the next page.
	 */
	cursor?: string;
}
