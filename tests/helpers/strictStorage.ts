// A strict in-memory double of the TWIN entity-storage connectors that have no server on this
// machine (MongoDB, Cosmos DB, Firestore, ScyllaDB; DynamoDB and MySQL/MariaDB for completeness).
// Each profile follows what docs/storage-capabilities.md found in the connector's code (version
// 0.0.2-next.1) and its database's documented rules:
// - a call the real connector could not run throws a StrictRuleError whose message names the rule
//   ("strict cosmosdb: sort on more than one property (the connector throws sortSingle)");
// - a call it can run behaves as it would: where missing and null values sort, whether entities
//   lacking the sort property are dropped, the order of ties, page sizes and cursor kinds (offset,
//   continuation, LastEvaluatedKey, document path, paging state) including short and empty pages
//   with a cursor, upsert-merge versus full replace, and the values reads hand back (JSON text,
//   Date, Long, dropped falsy values, Mongo's _id).
// Its CLASS_NAME is the real connector's, so code that picks a query shape by CLASS_NAME picks the
// same one it would for the real connector. Everything written and read is copied.
import { Guards, Is } from "@twin.org/core";
import {
	ComparisonOperator,
	EntitySchemaFactory,
	EntitySchemaHelper,
	LogicalOperator,
	SortDirection,
	type EntityCondition,
	type IEntitySchema,
	type IEntitySchemaProperty
} from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";

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
 * A 64-bit integer as cassandra-driver returns a BIGINT (a Long of the long package): an object
 * with low, high and unsigned, toNumber() and toString(), and no valueOf.
 */
export class ScyllaLong {
	/**
	 * The low 32 bits.
	 */
	public readonly low: number;

	/**
	 * The high 32 bits.
	 */
	public readonly high: number;

	/**
	 * Always false (CQL bigint is signed).
	 */
	public readonly unsigned = false;

	/**
	 * Create a new ScyllaLong.
	 * @param value The value.
	 */
	constructor(value: bigint) {
		this.low = Number(BigInt.asIntN(32, value));
		this.high = Number(BigInt.asIntN(32, value >> 32n));
	}

	/**
	 * The value as a number.
	 * @returns The number.
	 */
	public toNumber(): number {
		return this.high * 4294967296 + (this.low >>> 0);
	}

	/**
	 * The value in decimal.
	 * @returns The text.
	 */
	public toString(): string {
		return String(this.toNumber());
	}
}

/**
 * A stored record (a document, item or row).
 */
interface IStored {
	/**
	 * Insertion sequence (Cosmos tie order, Mongo natural order).
	 */
	seq: number;

	/**
	 * MongoDB's _id, fixed at insert.
	 */
	mongoId?: string;

	/**
	 * The values as the database holds them.
	 */
	data: { [key: string]: unknown };
}

/**
 * One sort key as the query uses it.
 */
interface ISortKey {
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
interface IComparison {
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
interface IGroup {
	/**
	 * The conditions.
	 */
	conditions: Condition[];

	/**
	 * The operator.
	 */
	logicalOperator?: LogicalOperator;
}

type Condition = IComparison | IGroup;

/**
 * Default page size of every connector (each has `_PAGE_SIZE = 40`).
 */
const PAGE_SIZE = 40;

/**
 * DynamoDB reserved words among the BackgroundTask properties (checked against the full list of
 * 573 reserved words that dynalite carries, validations/index.js RESERVED_WORDS), and a few more.
 */
const DYNAMODB_RESERVED = new Set([
	"type",
	"status",
	"result",
	"error",
	"data",
	"date",
	"name",
	"value",
	"values",
	"key",
	"count",
	"size",
	"timestamp",
	"user",
	"state"
]);

/**
 * Cosmos DB NoSQL keywords: `c.<keyword>` does not parse.
 */
const COSMOS_KEYWORDS = new Set([
	"and",
	"array",
	"as",
	"asc",
	"between",
	"by",
	"case",
	"cast",
	"convert",
	"cross",
	"desc",
	"distinct",
	"else",
	"end",
	"escape",
	"exists",
	"false",
	"for",
	"from",
	"group",
	"having",
	"in",
	"inner",
	"insert",
	"into",
	"is",
	"join",
	"left",
	"like",
	"limit",
	"not",
	"null",
	"offset",
	"on",
	"or",
	"order",
	"outer",
	"over",
	"right",
	"select",
	"set",
	"then",
	"top",
	"true",
	"udf",
	"undefined",
	"update",
	"value",
	"when",
	"where",
	"with"
]);

/**
 * CQL reserved keywords: an unquoted one does not parse.
 */
const CQL_RESERVED = new Set([
	"add",
	"allow",
	"alter",
	"and",
	"apply",
	"asc",
	"authorize",
	"batch",
	"begin",
	"by",
	"columnfamily",
	"create",
	"delete",
	"desc",
	"describe",
	"drop",
	"entries",
	"execute",
	"from",
	"full",
	"grant",
	"if",
	"in",
	"index",
	"infinity",
	"insert",
	"into",
	"keyspace",
	"limit",
	"modify",
	"nan",
	"norecursive",
	"not",
	"null",
	"of",
	"on",
	"or",
	"order",
	"primary",
	"rename",
	"replace",
	"revoke",
	"schema",
	"select",
	"set",
	"table",
	"to",
	"token",
	"truncate",
	"unlogged",
	"update",
	"use",
	"using",
	"view",
	"where",
	"with"
]);

/**
 * Item and response size limits, bytes of JSON (an approximation of each store's own measure).
 */
const LIMITS = {
	dynamodbItem: 400 * 1024,
	dynamodbPage: 1024 * 1024,
	cosmosItem: 2 * 1024 * 1024,
	firestoreDocument: 1024 * 1024 - 1024
};

/**
 * An in-memory IEntityStorageConnector that throws where the real connector of its profile cannot
 * go and otherwise behaves as it does.
 */
export class StrictEntityStorageConnector<T = unknown> implements IEntityStorageConnector<T> {
	/**
	 * The real connector's CLASS_NAME.
	 */
	public readonly CLASS_NAME: string;

	/**
	 * The profile.
	 */
	public readonly profile: StrictProfile;

	/**
	 * The schema.
	 * @internal
	 */
	private readonly _schema: IEntitySchema;

	/**
	 * The primary key property.
	 * @internal
	 */
	private readonly _primary: string;

	/**
	 * The stored records.
	 * @internal
	 */
	private _stored: IStored[] = [];

	/**
	 * The next insertion sequence.
	 * @internal
	 */
	private _seq = 0;

	/**
	 * Queries made, for the per-query order of ties.
	 * @internal
	 */
	private _queries = 0;

	/**
	 * The options.
	 * @internal
	 */
	private readonly _options: Required<IStrictStorageOptions>;

	/**
	 * Create a new StrictEntityStorageConnector.
	 * @param options The options.
	 */
	constructor(options: IStrictStorageOptions) {
		this.profile = options.profile;
		this.CLASS_NAME = STRICT_CLASS_NAMES[options.profile];
		this._options = {
			entitySchema: "BackgroundTask",
			scyllaIndexes: [],
			scyllaDates: "timestamp",
			mysqlServer: "mariadb",
			seed: 1,
			...options
		};
		this._schema = EntitySchemaFactory.get(this._options.entitySchema);
		this._primary = EntitySchemaHelper.getPrimaryKey(this._schema).property as string;
	}

	/**
	 * Get the schema for the entities.
	 * @returns The schema.
	 */
	public getSchema(): IEntitySchema {
		return this._schema;
	}

	/**
	 * Set an entity.
	 * @param entity The entity.
	 * @param conditions Conditions an existing entity must match.
	 */
	public async set(entity: T, conditions?: { property: keyof T; value: unknown }[]): Promise<void> {
		Guards.object(this.CLASS_NAME, "entity", entity);
		EntitySchemaHelper.validateEntity(entity, this._schema);
		const input = structuredClone(entity) as { [key: string]: unknown };
		const id = input[this._primary] as string;
		const existing = this.byId(id);
		if (Is.arrayValue(conditions)) {
			if (this.profile === "mongodb") {
				this.fail(
					"conditional set",
					"findOneAndUpdate with the conditions in the filter and upsert:true inserts a second document with the same id when the existing one does not match"
				);
			}
			if (this.profile === "scylladb") {
				this.fail(
					"conditional set",
					"the conditions go into the UPDATE's WHERE, which takes only key columns"
				);
			}
			if (
				existing &&
				!conditions.every(c => valueEquals(existing.data[c.property as string], c.value))
			) {
				return;
			}
		}
		switch (this.profile) {
			case "mongodb":
				this.setMongo(input, existing);
				break;
			case "mysql":
				this.setMySql(input, existing);
				break;
			case "scylladb":
				this.setScylla(input);
				break;
			default:
				this.replace(this.toReplacement(input), existing);
		}
	}

	/**
	 * Get an entity.
	 * @param id The id, or the value of the secondary index.
	 * @param secondaryIndex The property to look the value up in.
	 * @param conditions Conditions the entity must match.
	 * @returns A copy of the entity, or undefined.
	 */
	public async get(
		id: string,
		secondaryIndex?: keyof T,
		conditions?: { property: keyof T; value: unknown }[]
	): Promise<T | undefined> {
		Guards.stringValue(this.CLASS_NAME, "id", id);
		const property = (secondaryIndex as string | undefined) ?? this._primary;
		if (this.profile === "scylladb" && Is.arrayValue(conditions)) {
			this.fail("get with conditions", "the connector ignores them");
		}
		const matches = this._stored.filter(
			s =>
				valueEquals(s.data[property], id) &&
				(conditions ?? []).every(c => valueEquals(s.data[c.property as string], c.value))
		);
		if (this.profile === "scylladb" && secondaryIndex === undefined && matches.length !== 1) {
			// `SELECT * ... WHERE "id"=?` returns one row per clustering key; the connector returns an
			// entity only when exactly one row came back.
			return undefined;
		}
		const found = matches[0];
		return found ? (this.toEntity(found, undefined) as T) : undefined;
	}

	/**
	 * Remove an entity; a missing id is no error on any of the connectors.
	 * @param id The id.
	 * @param conditions Conditions the entity must match.
	 */
	public async remove(
		id: string,
		conditions?: { property: keyof T; value: unknown }[]
	): Promise<void> {
		Guards.stringValue(this.CLASS_NAME, "id", id);
		if (this.profile === "scylladb" && Is.arrayValue(conditions)) {
			this.fail(
				"conditional remove",
				"the conditions go into the DELETE's WHERE, which takes only key columns"
			);
		}
		this._stored = this._stored.filter(
			s =>
				!(
					valueEquals(s.data[this._primary], id) &&
					(conditions ?? []).every(c => valueEquals(s.data[c.property as string], c.value))
				)
		);
	}

	/**
	 * Query entities.
	 * @param conditions The condition.
	 * @param sortProperties The sort keys.
	 * @param properties The properties to return, default all.
	 * @param cursor The cursor of the page.
	 * @param pageSize The page size, default 40.
	 * @returns The page and the cursor of the next one.
	 */
	public async query(
		conditions?: EntityCondition<T>,
		sortProperties?: { property: keyof T; sortDirection: SortDirection }[],
		properties?: (keyof T)[],
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: Partial<T>[]; cursor?: string }> {
		const queryNumber = ++this._queries;
		const condition = conditions as Condition | undefined;
		const sorts = (sortProperties ?? []).map(s => ({
			property: s.property as string,
			descending: s.sortDirection === SortDirection.Descending
		}));
		const projection = properties?.map(p => p as string);
		const size = pageSize ?? PAGE_SIZE;
		if (!Number.isInteger(size) || size < 1) {
			this.fail("page size must be a positive integer", `got ${size}`);
		}
		this.checkSort(sortProperties, sorts, condition);
		if (condition) {
			this.checkCondition(condition, sorts);
		}
		if (projection) {
			this.checkProjection(projection);
		}

		switch (this.profile) {
			case "dynamodb":
				return this.queryDynamo(condition, sorts, projection, cursor, size);
			case "firestore":
				return this.queryFirestore(condition, sorts, projection, cursor, size);
			case "cosmosdb":
				return this.queryKeyset(condition, sorts, projection, cursor, size);
			case "scylladb":
				return this.queryScylla(condition, sorts, projection, cursor, size);
			default:
				return this.queryOffset(condition, sorts, projection, cursor, size, queryNumber);
		}
	}

	/**
	 * Every stored record, as the database holds it (for tests that look behind the connector).
	 * @returns Copies of the records.
	 */
	public raw(): { [key: string]: unknown }[] {
		return this._stored.map(s => structuredClone(s.data));
	}

	// ---- rules -------------------------------------------------------------------------------

	/**
	 * Throw a broken rule.
	 * @param rule The rule.
	 * @param detail What the real connector or database says.
	 * @internal
	 */
	private fail(rule: string, detail?: string): never {
		throw new StrictRuleError(this.profile, rule, detail);
	}

	/**
	 * The schema property of a name.
	 * @param name The name.
	 * @returns The property.
	 * @internal
	 */
	private schemaProperty(name: string): IEntitySchemaProperty | undefined {
		return (this._schema.properties ?? []).find(p => p.property === name);
	}

	/**
	 * Whether a property is sortable on the connectors that sort only by flagged properties
	 * (DynamoDB's GSIs, Cosmos DB's check): primary, secondary or with a sortDirection.
	 * @param name The property.
	 * @returns True when sortable.
	 * @internal
	 */
	private isFlagged(name: string): boolean {
		const p = this.schemaProperty(name);
		return (
			p !== undefined &&
			(p.isPrimary === true || p.isSecondary === true || p.sortDirection !== undefined)
		);
	}

	/**
	 * Check the sort keys against the profile.
	 * @param raw The sort argument as given.
	 * @param sorts The sort keys.
	 * @param condition The condition.
	 * @internal
	 */
	private checkSort(
		raw: unknown[] | undefined,
		sorts: ISortKey[],
		condition: Condition | undefined
	): void {
		if (this.profile === "mysql" && Array.isArray(raw) && raw.length === 0) {
			this.fail(
				"empty sort array",
				"Array.isArray([]) makes `ORDER BY ` with nothing after it: SQL syntax error near 'LIMIT'"
			);
		}
		if (sorts.length === 0) {
			return;
		}
		for (const s of sorts) {
			if (this.schemaProperty(s.property) === undefined && this.profile !== "mongodb") {
				this.fail(`sort on ${s.property}, not a schema property`);
			}
		}
		switch (this.profile) {
			case "dynamodb":
			case "cosmosdb":
				if (sorts.length > 1) {
					this.fail("sort on more than one property", "the connector throws sortSingle");
				}
				if (!this.isFlagged(sorts[0].property)) {
					this.fail(
						`sort on ${sorts[0].property}, which is not primary, secondary or sortDirection-flagged`,
						"the connector throws sortNotIndexed"
					);
				}
				if (this.profile === "dynamodb" && sorts[0].property !== this._primary && condition) {
					if (this.keyComparisons(condition).length > 0) {
						this.fail(
							`condition on ${this._primary} with a sort on ${sorts[0].property}`,
							`the key condition goes to the ${sorts[0].property}Index GSI: "Query condition missed key schema element"`
						);
					}
				}
				break;
			case "scylladb": {
				if (sorts.length > 1) {
					this.fail(
						"sort on more than one property",
						"the connector uses only the first and ignores the rest"
					);
				}
				const p = this.schemaProperty(sorts[0].property);
				const idRestricted =
					condition !== undefined &&
					this.flat(condition).some(
						c =>
							c.property === this._primary &&
							(c.comparison === ComparisonOperator.Equals || c.comparison === ComparisonOperator.In)
					);
				if (!p?.isSecondary || !idRestricted) {
					this.fail(
						`sort on ${sorts[0].property}`,
						"CQL ORDER BY takes only a clustering column (here threadId) with the partition key restricted by = or IN"
					);
				}
				break;
			}
			default:
				// mongodb, mysql: any number of keys on any property; firestore: any, with a composite
				// index for more than one key or a filter on another field (a deployment matter).
				break;
		}
	}

	/**
	 * The comparisons of a condition, flattened.
	 * @param condition The condition.
	 * @returns The comparisons.
	 * @internal
	 */
	private flat(condition: Condition): IComparison[] {
		return "conditions" in condition
			? condition.conditions.flatMap(c => this.flat(c))
			: [condition];
	}

	/**
	 * DynamoDB: the comparisons that become key conditions (on the primary key).
	 * @param condition The condition.
	 * @returns The comparisons.
	 * @internal
	 */
	private keyComparisons(condition: Condition): IComparison[] {
		return this.flat(condition).filter(c => c.property === this._primary);
	}

	/**
	 * Check a condition against the profile.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @internal
	 */
	private checkCondition(condition: Condition, sorts: ISortKey[]): void {
		const all = this.flat(condition);
		const groups: IGroup[] = [];
		const collect = (c: Condition, depth: number): void => {
			if ("conditions" in c) {
				groups.push(c);
				if (this.profile === "scylladb" && depth > 0) {
					this.fail(
						"nested condition group",
						"the connector reads only the top-level list of comparisons"
					);
				}
				c.conditions.forEach(sub => collect(sub, depth + 1));
			}
		};
		collect(condition, 0);

		for (const c of all) {
			if (c.comparison === ComparisonOperator.NotIncludes && this.profile !== "scylladb") {
				const said: { [p in StrictProfile]?: string } = {
					mongodb: "unsupportedComparisonOperator",
					firestore: "unsupportedComparisonOperator",
					mysql: "comparisonNotSupported",
					cosmosdb: "it writes notContains(), which is no Cosmos DB function",
					dynamodb: "it writes notContains(), which is no DynamoDB function"
				};
				this.fail("NotIncludes condition", said[this.profile]);
			}
		}

		switch (this.profile) {
			case "mongodb":
				for (const g of groups) {
					if (g.logicalOperator === undefined && g.conditions.length > 1) {
						this.fail(
							"condition group without logicalOperator",
							"the connector applies only its first condition (Object.assign(filter, subConditions[0]))"
						);
					}
					if (g.logicalOperator !== undefined && g.conditions.length === 0) {
						this.fail("empty condition group", "$and/$or must be a nonempty array");
					}
				}
				break;
			case "cosmosdb":
			case "dynamodb": {
				const seen = new Set<string>();
				for (const c of all) {
					if (seen.has(c.property)) {
						this.fail(
							`two comparisons on ${c.property}`,
							"the connector names the value parameter after the property, so the second value overwrites the first"
						);
					}
					seen.add(c.property);
				}
				if (this.profile === "cosmosdb") {
					for (const c of all) {
						const type = this.schemaProperty(c.property)?.type;
						if (c.value === undefined) {
							this.fail(
								`condition on ${c.property} with an undefined value`,
								"an undefined parameter matches nothing"
							);
						}
						if (
							c.comparison === ComparisonOperator.In &&
							(type === "number" || type === "integer")
						) {
							this.fail(
								`In on the number property ${c.property}`,
								"the connector turns In values into strings"
							);
						}
						if (
							c.comparison === ComparisonOperator.Includes &&
							type === "array" &&
							!Is.object(c.value)
						) {
							this.fail(
								`Includes of a scalar in the array property ${c.property}`,
								"the connector writes CONTAINS(), a string function"
							);
						}
					}
				} else {
					const keys = this.keyComparisons(condition);
					if (keys.length > 0) {
						if (groups.some(g => g.logicalOperator === LogicalOperator.Or)) {
							this.fail(
								`condition on ${this._primary} inside an Or group`,
								"key comparisons are pulled into KeyConditionExpression and ANDed"
							);
						}
						for (const k of keys) {
							if (
								k.comparison !== ComparisonOperator.Equals &&
								k.comparison !== ComparisonOperator.GreaterThan &&
								k.comparison !== ComparisonOperator.GreaterThanOrEqual &&
								k.comparison !== ComparisonOperator.LessThan &&
								k.comparison !== ComparisonOperator.LessThanOrEqual
							) {
								this.fail(
									`${k.comparison} on the key ${this._primary}`,
									"Invalid operator used in KeyConditionExpression"
								);
							}
						}
					}
					for (const c of all) {
						if (
							c.comparison === ComparisonOperator.In &&
							Array.isArray(c.value) &&
							c.value.length > 100
						) {
							this.fail("In with more than 100 values", "DynamoDB's IN takes at most 100 operands");
						}
					}
				}
				break;
			}
			case "firestore":
				for (const g of groups) {
					if (g.logicalOperator === LogicalOperator.Or) {
						this.fail(
							"Or condition group",
							"the connector ignores logicalOperator and ANDs every group"
						);
					}
				}
				for (const c of all) {
					if (c.value === undefined) {
						this.fail(
							`condition on ${c.property} with an undefined value`,
							'Cannot use "undefined" as a Firestore value'
						);
					}
					if (c.comparison === ComparisonOperator.In) {
						if (!Array.isArray(c.value) || c.value.length === 0 || c.value.length > 30) {
							this.fail("In needs an array of 1 to 30 values", "Firestore's in filter");
						}
					}
				}
				break;
			case "mysql":
				for (const c of all) {
					const type = this.schemaProperty(c.property)?.type;
					if (
						c.comparison === ComparisonOperator.Includes &&
						type !== "object" &&
						type !== "array"
					) {
						this.fail(
							`Includes on the non-JSON column ${c.property}`,
							"the connector writes JSON_CONTAINS()"
						);
					}
				}
				break;
			case "scylladb":
				this.checkScyllaCondition(condition, all, sorts);
				break;
		}
	}

	/**
	 * ScyllaDB: the connector never adds ALLOW FILTERING to a query, so only key restrictions and a
	 * single Equals on an indexed column can run.
	 * @param condition The condition.
	 * @param all The comparisons.
	 * @param sorts The sort keys.
	 * @internal
	 */
	private checkScyllaCondition(condition: Condition, all: IComparison[], sorts: ISortKey[]): void {
		if ("conditions" in condition && condition.logicalOperator === LogicalOperator.Or) {
			this.fail("Or condition group", "CQL has no OR");
		}
		const allowFiltering = "the connector never adds ALLOW FILTERING";
		const idRestricted = all.some(
			c =>
				c.property === this._primary &&
				(c.comparison === ComparisonOperator.Equals || c.comparison === ComparisonOperator.In)
		);
		const indexed = all.filter(c => this._options.scyllaIndexes.includes(c.property));
		for (const c of all) {
			const p = this.schemaProperty(c.property);
			if (
				c.comparison === ComparisonOperator.Includes ||
				c.comparison === ComparisonOperator.NotIncludes
			) {
				this.fail(
					`${c.comparison} on ${c.property}`,
					`the connector writes LIKE '%value%' unescaped, which needs ALLOW FILTERING; ${allowFiltering}`
				);
			}
			if (c.comparison === ComparisonOperator.NotEquals) {
				this.fail(`NotEquals on ${c.property}`, "CQL has no != restriction");
			}
			if (c.property === this._primary) {
				if (c.comparison !== ComparisonOperator.Equals && c.comparison !== ComparisonOperator.In) {
					this.fail(
						`${c.comparison} on the partition key ${c.property}`,
						"only = and IN restrict a partition key"
					);
				}
				continue;
			}
			if (p?.isSecondary) {
				if (!idRestricted) {
					this.fail(
						`condition on the clustering column ${c.property} without the partition key`,
						allowFiltering
					);
				}
				continue;
			}
			if (this._options.scyllaIndexes.includes(c.property)) {
				if (c.comparison !== ComparisonOperator.Equals) {
					this.fail(
						`${c.comparison} on the indexed column ${c.property}`,
						`a secondary index serves only =; ${allowFiltering}`
					);
				}
				continue;
			}
			this.fail(`condition on ${c.property}, neither a key nor an indexed column`, allowFiltering);
		}
		if (indexed.length > 1) {
			this.fail("conditions on two indexed columns", allowFiltering);
		}
		if (sorts.length > 0 && indexed.length > 0) {
			this.fail(
				"sort with a condition on an indexed column",
				"ORDER BY is not supported with secondary indexes"
			);
		}
	}

	/**
	 * Check a projection against the profile.
	 * @param projection The properties.
	 * @internal
	 */
	private checkProjection(projection: string[]): void {
		for (const p of projection) {
			switch (this.profile) {
				case "dynamodb":
					if (DYNAMODB_RESERVED.has(p.toLowerCase())) {
						this.fail(
							`projection of the reserved word ${p}`,
							`ProjectionExpression is not escaped: "Attribute name is a reserved keyword; reserved keyword: ${p}"`
						);
					}
					break;
				case "cosmosdb":
					if (COSMOS_KEYWORDS.has(p.toLowerCase()) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) {
						this.fail(
							`projection of ${p}`,
							"the connector writes c.<name> unescaped, and this name is a keyword or no identifier"
						);
					}
					break;
				case "scylladb":
					if (p !== p.toLowerCase()) {
						this.fail(
							`projection of the camelCase column ${p}`,
							`the connector writes the names unquoted and CQL folds them to lower case: "Undefined column name ${p.toLowerCase()}"`
						);
					}
					if (CQL_RESERVED.has(p)) {
						this.fail(
							`projection of the reserved word ${p}`,
							"the connector writes the names unquoted"
						);
					}
					break;
				default:
					break;
			}
			if (this.profile !== "mongodb" && this.schemaProperty(p) === undefined) {
				this.fail(`projection of ${p}, not a schema property`);
			}
		}
	}

	// ---- writes ------------------------------------------------------------------------------

	/**
	 * The record stored by a full-replace write (cosmosdb, firestore, dynamodb).
	 * @param input The entity.
	 * @returns The record.
	 * @internal
	 */
	private toReplacement(input: { [key: string]: unknown }): { [key: string]: unknown } {
		switch (this.profile) {
			case "cosmosdb": {
				// The SDK sends JSON: undefined properties are left out.
				const json = JSON.stringify(input);
				if (json.length > LIMITS.cosmosItem) {
					this.fail("item larger than 2 MB", "RequestEntityTooLarge");
				}
				return JSON.parse(json) as { [key: string]: unknown };
			}
			case "firestore":
				checkFirestoreValue(this.profile, input, "", false);
				if (JSON.stringify(input).length > LIMITS.firestoreDocument) {
					this.fail("document larger than 1 MiB", "INVALID_ARGUMENT");
				}
				return input;
			case "dynamodb": {
				const item = removeUndefined(input) as { [key: string]: unknown };
				for (const p of this._schema.properties ?? []) {
					const value = item[p.property as string];
					if (value === null && this.isFlagged(p.property as string) && !p.isPrimary) {
						this.fail(
							`null in ${p.property as string}, a GSI key attribute`,
							"ValidationException: Type mismatch for Index Key"
						);
					}
				}
				checkDynamoNumbers(this.profile, item, "");
				if (JSON.stringify(item).length > LIMITS.dynamodbItem) {
					this.fail(
						"item larger than 400 KB",
						"ValidationException: Item size has exceeded the maximum allowed size"
					);
				}
				return item;
			}
			default:
				return input;
		}
	}

	/**
	 * Insert or replace a record.
	 * @param data The record.
	 * @param existing The record it replaces.
	 * @internal
	 */
	private replace(data: { [key: string]: unknown }, existing: IStored | undefined): void {
		if (existing) {
			existing.data = data;
		} else {
			this._stored.push({ seq: ++this._seq, data });
		}
	}

	/**
	 * MongoDB: findOneAndUpdate({ id }, { $set: entity }, { upsert: true }): the properties present
	 * are set (undefined serialised as null, the driver's ignoreUndefined being false), the others
	 * keep their values.
	 * @param input The entity.
	 * @param existing The stored document.
	 * @internal
	 */
	private setMongo(input: { [key: string]: unknown }, existing: IStored | undefined): void {
		const values = undefinedToNull(input) as { [key: string]: unknown };
		if (existing) {
			existing.data = { ...existing.data, ...values };
		} else {
			const seq = ++this._seq;
			this._stored.push({ seq, mongoId: seq.toString(16).padStart(24, "0"), data: values });
		}
	}

	/**
	 * MySQL: INSERT ... ON DUPLICATE KEY UPDATE of the columns present; object columns are written
	 * as JSON.stringify(value), undefined as NULL; number columns are FLOAT, integer INT, uint64
	 * BIGINT, boolean TINYINT(1).
	 * @param input The entity.
	 * @param existing The stored row.
	 * @internal
	 */
	private setMySql(input: { [key: string]: unknown }, existing: IStored | undefined): void {
		const row: { [key: string]: unknown } = {};
		for (const [key, value] of Object.entries(input)) {
			const p = this.schemaProperty(key);
			if (p?.type === "object" || p?.type === "array") {
				row[key] = value === undefined ? null : JSON.stringify(value);
			} else if (value === undefined || value === null) {
				row[key] = null;
			} else if (p?.type === "number" && p.format !== "double") {
				// FLOAT: single precision, shown with 6 significant digits by the text protocol.
				row[key] = Number((value as number).toPrecision(6));
			} else if (p?.type === "integer" && !["int64", "uint64"].includes(p.format ?? "")) {
				if (
					!Number.isInteger(value) ||
					(value as number) > 2147483647 ||
					(value as number) < -2147483648
				) {
					this.fail(`${key} out of the INT range`, `Out of range value for column '${key}'`);
				}
				row[key] = value;
			} else if (p?.type === "boolean") {
				row[key] = value ? 1 : 0;
			} else {
				row[key] = value;
			}
		}
		if (existing) {
			existing.data = { ...existing.data, ...row };
		} else {
			const full: { [key: string]: unknown } = {};
			for (const p of this._schema.properties ?? []) {
				full[p.property as string] = null;
			}
			this._stored.push({ seq: ++this._seq, data: { ...full, ...row } });
		}
	}

	/**
	 * ScyllaDB: `UPDATE t SET <every non-key column>=? WHERE "threadId"=? AND "id"=?` (CQL UPDATE is
	 * an upsert): undefined binds as unset and keeps the column's value, null clears it, and a
	 * changed clustering column (isSecondary: threadId) writes another row of the same id.
	 * @param input The entity.
	 * @internal
	 */
	private setScylla(input: { [key: string]: unknown }): void {
		const keys = (this._schema.properties ?? []).filter(p => p.isPrimary || p.isSecondary);
		const row = this._stored.find(s =>
			keys.every(k => valueEquals(s.data[k.property as string], input[k.property as string]))
		);
		const values: { [key: string]: unknown } = {};
		for (const p of this._schema.properties ?? []) {
			const name = p.property as string;
			const value = input[name];
			if (p.isPrimary || p.isSecondary) {
				values[name] = value;
				continue;
			}
			if (value === undefined) {
				continue;
			}
			values[name] = value === null ? null : this.toScyllaColumn(p, value);
		}
		if (row) {
			row.data = { ...row.data, ...values };
		} else {
			this._stored.push({ seq: ++this._seq, data: values });
		}
	}

	/**
	 * A value as a ScyllaDB column of the connector's type mapping holds it.
	 * @param p The property.
	 * @param value The value.
	 * @returns The column value.
	 * @internal
	 */
	private toScyllaColumn(p: IEntitySchemaProperty, value: unknown): unknown {
		const name = p.property as string;
		if (p.type === "object" || p.type === "array") {
			// Bound as it is (no JSON for type object); the hand-made table has TEXT here, since the
			// bootstrap throws itemTypeNotDefined for an object without itemTypeRef.
			if (typeof value !== "string") {
				this.fail(
					`${typeof value} value in the object column ${name}`,
					`the connector binds object values unencoded: "Not a valid text value, expected String"`
				);
			}
			return value;
		}
		if (
			p.type === "string" &&
			(p.format === "date-time" || p.format === "date") &&
			this._options.scyllaDates === "timestamp"
		) {
			const ms = new Date(value as string).getTime();
			if (Number.isNaN(ms)) {
				this.fail(`invalid date in ${name}`, `TypeError: Invalid date: ${String(value)}`);
			}
			return new Date(ms);
		}
		if (p.type === "integer") {
			if (p.format === "int64" || p.format === "uint64") {
				return BigInt(value as number);
			}
			if (
				!Number.isInteger(value) ||
				(value as number) > 2147483647 ||
				(value as number) < -2147483648
			) {
				this.fail(`${name} out of the INT range`, "the driver's int encoder refuses it");
			}
		}
		return value;
	}

	// ---- reads -------------------------------------------------------------------------------

	/**
	 * The record of an id (the first one on ScyllaDB).
	 * @param id The id.
	 * @returns The record.
	 * @internal
	 */
	private byId(id: string): IStored | undefined {
		return this._stored.find(s => s.data[this._primary] === id);
	}

	/**
	 * A record as the connector hands it back.
	 * @param stored The record.
	 * @param projection The properties asked for.
	 * @returns A fresh entity.
	 * @internal
	 */
	private toEntity(stored: IStored, projection: string[] | undefined): { [key: string]: unknown } {
		const data = stored.data;
		const pick = (names: string[]): { [key: string]: unknown } => {
			const out: { [key: string]: unknown } = {};
			for (const n of names) {
				if (n in data && data[n] !== undefined) {
					out[n] = structuredClone(data[n]);
				}
			}
			return out;
		};
		switch (this.profile) {
			case "mongodb": {
				const doc = projection ? pick(projection) : structuredClone(data);
				return { _id: stored.mongoId, ...doc };
			}
			case "mysql": {
				const names = projection ?? (this._schema.properties ?? []).map(p => p.property as string);
				const out: { [key: string]: unknown } = {};
				for (const n of names) {
					const value = data[n] ?? null;
					const p = this.schemaProperty(n);
					out[n] =
						(p?.type === "object" || p?.type === "array") &&
						typeof value === "string" &&
						this._options.mysqlServer === "mysql"
							? JSON.parse(value)
							: value;
				}
				return out;
			}
			case "scylladb": {
				// convertRowToObject: every schema property, `if (value)` drops 0, false, "" and null;
				// object columns "null", "undefined" and "" read as absent; TIMESTAMP is a Date and
				// BIGINT a Long.
				const row = projection ? pick(projection) : data;
				const out: { [key: string]: unknown } = {};
				for (const p of this._schema.properties ?? []) {
					const name = p.property as string;
					const value = row[name];
					if (!value) {
						continue;
					}
					if (p.type === "object" && (value === "null" || value === "undefined")) {
						continue;
					}
					out[name] =
						value instanceof Date
							? new Date(value.getTime())
							: typeof value === "bigint"
								? new ScyllaLong(value)
								: structuredClone(value);
				}
				return out;
			}
			default:
				return projection ? pick(projection) : structuredClone(data);
		}
	}

	// ---- ordering ----------------------------------------------------------------------------

	/**
	 * The rank of a value's type in the profile's cross-type order (lowest first).
	 * @param value The value.
	 * @returns The rank.
	 * @internal
	 */
	private typeRank(value: unknown): number {
		const kind =
			value === undefined
				? "undefined"
				: value === null
					? "null"
					: Array.isArray(value)
						? "array"
						: value instanceof Date
							? "date"
							: typeof value;
		const orders: { [p in StrictProfile]: string[] } = {
			// BSON: null and missing, numbers, strings, objects, arrays, booleans, dates.
			mongodb: ["undefined|null", "number|bigint", "string", "object", "array", "boolean", "date"],
			// Cosmos DB: undefined, null, boolean, number, string, array, object.
			cosmosdb: ["undefined", "null", "boolean", "number|bigint", "string", "array", "object"],
			// Firestore: null, boolean, number, timestamp, string, array, map (missing is dropped).
			firestore: [
				"undefined",
				"null",
				"boolean",
				"number|bigint",
				"date",
				"string",
				"array",
				"object"
			],
			// SQL: NULL first ascending.
			mysql: ["undefined|null", "boolean|number|bigint|string|date|object|array"],
			dynamodb: ["undefined|null", "number|bigint", "string", "boolean|date|object|array"],
			scylladb: ["undefined|null", "boolean|number|bigint|string|date|object|array"]
		};
		return orders[this.profile].findIndex(group => group.split("|").includes(kind));
	}

	/**
	 * Compare two values in the profile's order.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 * @internal
	 */
	private compareValues(a: unknown, b: unknown): number {
		const ra = this.typeRank(a);
		const rb = this.typeRank(b);
		if (ra !== rb) {
			return ra - rb;
		}
		if (a === undefined || a === null || b === undefined || b === null) {
			return 0;
		}
		if (typeof a === "number" || typeof a === "bigint") {
			return Number(a) - Number(b as number);
		}
		if (a instanceof Date && b instanceof Date) {
			return a.getTime() - b.getTime();
		}
		if (typeof a === "boolean") {
			return Number(a) - Number(b as boolean);
		}
		const sa = typeof a === "string" ? a : JSON.stringify(a);
		const sb = typeof b === "string" ? b : JSON.stringify(b);
		if (this.profile === "mysql") {
			// The default collations (latin1_swedish_ci, utf8mb4_general_ci) ignore case.
			const la = sa.toLowerCase();
			const lb = sb.toLowerCase();
			return la < lb ? -1 : la > lb ? 1 : 0;
		}
		return sa < sb ? -1 : sa > sb ? 1 : 0;
	}

	/**
	 * Order records by the sort keys, then by the profile's tie order.
	 * @param records The records.
	 * @param sorts The sort keys.
	 * @param queryNumber The query, for the per-query tie order.
	 * @returns The ordered records.
	 * @internal
	 */
	private order(records: IStored[], sorts: ISortKey[], queryNumber: number): IStored[] {
		const lastDescending = sorts.length > 0 && sorts[sorts.length - 1].descending;
		const tie = (a: IStored, b: IStored): number => {
			const ida = String(a.data[this._primary]);
			const idb = String(b.data[this._primary]);
			switch (this.profile) {
				case "mongodb":
				case "mysql":
					if (sorts.length === 0) {
						// Natural order (Mongo) or the primary key (InnoDB).
						return this.profile === "mongodb" ? a.seq - b.seq : ida < idb ? -1 : ida > idb ? 1 : 0;
					}
					// Ties come back in no defined order, and not the same for every query: skip/limit
					// (OFFSET) paging over ties repeats some and skips others.
					return (
						hash(`${this._options.seed}:${queryNumber}:${ida}`) -
						hash(`${this._options.seed}:${queryNumber}:${idb}`)
					);
				case "cosmosdb":
					return a.seq - b.seq;
				case "scylladb":
					return (
						hash(ida) - hash(idb) ||
						(ida < idb ? -1 : ida > idb ? 1 : 0) ||
						this.compareValues(a.data.threadId, b.data.threadId)
					);
				default: {
					// Firestore: by document id in the direction of the last orderBy; DynamoDB: by the
					// table's range key (id) in the direction of the query.
					const r = ida < idb ? -1 : ida > idb ? 1 : 0;
					return lastDescending ? -r : r;
				}
			}
		};
		return [...records].sort((a, b) => {
			for (const s of sorts) {
				const r = this.compareValues(a.data[s.property], b.data[s.property]);
				if (r !== 0) {
					return s.descending ? -r : r;
				}
			}
			return tie(a, b);
		});
	}

	// ---- conditions --------------------------------------------------------------------------

	/**
	 * Whether a record matches a condition, with the profile's semantics of missing values and of
	 * values of other types.
	 * @param data The record.
	 * @param condition The condition.
	 * @returns True on a match.
	 * @internal
	 */
	private matches(data: { [key: string]: unknown }, condition: Condition | undefined): boolean {
		if (!condition) {
			return true;
		}
		if ("conditions" in condition) {
			const results = condition.conditions.map(c => this.matches(data, c));
			if (this.profile === "mongodb" && condition.logicalOperator === undefined) {
				return results.length === 0 || results[0];
			}
			return condition.logicalOperator === LogicalOperator.Or && this.profile !== "firestore"
				? results.some(Boolean)
				: results.every(Boolean);
		}
		const v = propertyGet(data, condition.property);
		const value = condition.value;
		const missing = v === undefined || v === null;
		const sameType = (x: unknown, y: unknown): boolean =>
			x !== undefined &&
			x !== null &&
			y !== undefined &&
			y !== null &&
			typeof x === typeof y &&
			Array.isArray(x) === Array.isArray(y);
		switch (condition.comparison) {
			case ComparisonOperator.Equals:
				if (value === undefined || value === null) {
					switch (this.profile) {
						case "mongodb":
							return missing;
						case "dynamodb":
							return v === undefined;
						case "mysql":
						case "scylladb":
							return false;
						default:
							return v === null;
					}
				}
				return valueEquals(v, value);
			case ComparisonOperator.NotEquals:
				if (value === undefined || value === null) {
					return this.profile === "mysql"
						? false
						: this.profile === "dynamodb"
							? v !== undefined
							: !missing;
				}
				if (missing) {
					// Only MongoDB's $ne matches documents without the field (or with null).
					return this.profile === "mongodb";
				}
				if (!sameType(v, value)) {
					return this.profile !== "cosmosdb";
				}
				return !valueEquals(v, value);
			case ComparisonOperator.GreaterThan:
			case ComparisonOperator.GreaterThanOrEqual:
			case ComparisonOperator.LessThan:
			case ComparisonOperator.LessThanOrEqual: {
				if (!sameType(v, value) || typeof v === "object") {
					return false;
				}
				const r = this.compareValues(v, value);
				return condition.comparison === ComparisonOperator.GreaterThan
					? r > 0
					: condition.comparison === ComparisonOperator.GreaterThanOrEqual
						? r >= 0
						: condition.comparison === ComparisonOperator.LessThan
							? r < 0
							: r <= 0;
			}
			case ComparisonOperator.In:
				return (Array.isArray(value) ? value : [value]).some(x => valueEquals(v, x));
			case ComparisonOperator.Includes:
				if (Array.isArray(v)) {
					return v.some(x => valueEquals(x, value));
				}
				return typeof v === "string" &&
					typeof value === "string" &&
					this.profile !== "mongodb" &&
					this.profile !== "firestore"
					? v.includes(value)
					: false;
			default:
				return false;
		}
	}

	// ---- queries -----------------------------------------------------------------------------

	/**
	 * MongoDB and MySQL: find().sort().skip(offset).limit(n) / ORDER BY ... LIMIT n OFFSET o; the
	 * cursor is the next offset, given whenever the page is full (the next page may be empty).
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @param projection The properties.
	 * @param cursor The offset.
	 * @param size The page size.
	 * @param queryNumber The query.
	 * @returns The page.
	 * @internal
	 */
	private queryOffset(
		condition: Condition | undefined,
		sorts: ISortKey[],
		projection: string[] | undefined,
		cursor: string | undefined,
		size: number,
		queryNumber: number
	): { entities: Partial<T>[]; cursor?: string } {
		const offset = cursor ? Number(cursor) : 0;
		const ordered = this.order(
			this._stored.filter(s => this.matches(s.data, condition)),
			sorts,
			queryNumber
		);
		const page = ordered.slice(offset, offset + size);
		return {
			entities: page.map(s => this.toEntity(s, projection) as Partial<T>),
			cursor: page.length === size ? String(offset + size) : undefined
		};
	}

	/**
	 * Cosmos DB: maxItemCount = page size and a continuation token that resumes after the last item
	 * returned; the SDK fills each page, and a token follows a full page even when nothing is left.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @param projection The properties.
	 * @param cursor The continuation token.
	 * @param size The page size.
	 * @returns The page.
	 * @internal
	 */
	private queryKeyset(
		condition: Condition | undefined,
		sorts: ISortKey[],
		projection: string[] | undefined,
		cursor: string | undefined,
		size: number
	): { entities: Partial<T>[]; cursor?: string } {
		const ordered = this.order(
			this._stored.filter(s => this.matches(s.data, condition)),
			sorts,
			0
		);
		const start = cursor ? this.resumeAfter(ordered, sorts, decodeCursor(this.profile, cursor)) : 0;
		const page: IStored[] = [];
		let bytes = 0;
		for (let i = start; i < ordered.length && page.length < size; i++) {
			bytes += JSON.stringify(ordered[i].data).length;
			if (page.length > 0 && bytes > 4 * 1024 * 1024) {
				break;
			}
			page.push(ordered[i]);
		}
		const more = page.length === size || start + page.length < ordered.length;
		return {
			entities: page.map(s => this.toEntity(s, projection) as Partial<T>),
			cursor:
				more && page.length > 0
					? encodeCursor(this.positionOf(page[page.length - 1], sorts))
					: undefined
		};
	}

	/**
	 * DynamoDB: a Query on partitionId "1" (the table, or the `<property>Index` GSI of the sort
	 * key, which holds only items that have the attribute); Limit counts the items read before the
	 * FilterExpression (every condition not on the primary key) drops any, so a page can be short
	 * or empty with a cursor; a page also stops at 1 MB read; LastEvaluatedKey is given whenever
	 * Limit was reached, even at the end.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @param projection The properties.
	 * @param cursor The LastEvaluatedKey.
	 * @param size The page size (Limit).
	 * @returns The page.
	 * @internal
	 */
	private queryDynamo(
		condition: Condition | undefined,
		sorts: ISortKey[],
		projection: string[] | undefined,
		cursor: string | undefined,
		size: number
	): { entities: Partial<T>[]; cursor?: string } {
		const keys = condition ? this.keyComparisons(condition) : [];
		const sortKey = sorts[0];
		const onIndex = sortKey !== undefined && sortKey.property !== this._primary;
		const candidates = this._stored.filter(
			s =>
				keys.every(k => this.matches(s.data, k)) &&
				(!onIndex || (s.data[sortKey.property] !== undefined && s.data[sortKey.property] !== null))
		);
		const ordered = this.order(
			candidates,
			sorts.length > 0 ? sorts : [{ property: this._primary, descending: false }],
			0
		);
		const start = cursor ? this.resumeAfter(ordered, sorts, decodeCursor(this.profile, cursor)) : 0;
		const read: IStored[] = [];
		let bytes = 0;
		for (let i = start; i < ordered.length && read.length < size; i++) {
			bytes += JSON.stringify(ordered[i].data).length;
			read.push(ordered[i]);
			if (bytes >= LIMITS.dynamodbPage) {
				break;
			}
		}
		const stoppedEarly =
			read.length === size ||
			(read.length > 0 && bytes >= LIMITS.dynamodbPage && start + read.length < ordered.length);
		return {
			entities: read
				.filter(s => this.matches(s.data, condition))
				.map(s => this.toEntity(s, projection) as Partial<T>),
			cursor: stoppedEarly ? encodeCursor(this.positionOf(read[read.length - 1], sorts)) : undefined
		};
	}

	/**
	 * Firestore: where(...) per comparison, orderBy per sort key (a document without the field is
	 * not in the result), limit(n), startAfter(the cursor's document as it is now); the cursor is the
	 * path of the page's last document, given whenever the page is full. A cursor whose document
	 * was removed is ignored (the query starts again from the beginning); one whose document lost
	 * an orderBy field fails.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @param projection The properties.
	 * @param cursor The document path.
	 * @param size The page size.
	 * @returns The page.
	 * @internal
	 */
	private queryFirestore(
		condition: Condition | undefined,
		sorts: ISortKey[],
		projection: string[] | undefined,
		cursor: string | undefined,
		size: number
	): { entities: Partial<T>[]; cursor?: string } {
		const present = (s: IStored): boolean => sorts.every(k => s.data[k.property] !== undefined);
		const ordered = this.order(
			this._stored.filter(s => present(s) && this.matches(s.data, condition)),
			sorts,
			0
		);
		let start = 0;
		if (Is.stringValue(cursor)) {
			const id = cursor.slice(cursor.lastIndexOf("/") + 1);
			const doc = this.byId(id);
			if (doc) {
				if (!present(doc)) {
					this.fail(
						"cursor document lacks an orderBy field",
						"startAfter(snapshot): the snapshot must contain values for all orderBy() fields"
					);
				}
				start = this.resumeAfter(ordered, sorts, this.positionOf(doc, sorts));
			}
		}
		const page = ordered.slice(start, start + size);
		return {
			entities: page.map(s => this.toEntity(s, projection) as Partial<T>),
			cursor:
				page.length === size
					? `${this._options.entitySchema}/${String(page[page.length - 1].data[this._primary])}`
					: undefined
		};
	}

	/**
	 * ScyllaDB: without a sort, rows in token order (a hash of the partition key), fetchSize = page
	 * size, the paging state as cursor whenever a page is full; with a sort, paging is off
	 * (fetchSize 0): every row in one page and no cursor.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 * @param projection The properties.
	 * @param cursor The paging state.
	 * @param size The page size.
	 * @returns The page.
	 * @internal
	 */
	private queryScylla(
		condition: Condition | undefined,
		sorts: ISortKey[],
		projection: string[] | undefined,
		cursor: string | undefined,
		size: number
	): { entities: Partial<T>[]; cursor?: string } {
		const rows = this._stored.filter(s => this.matches(s.data, condition));
		if (sorts.length > 0) {
			const ordered = this.order(rows, sorts, 0);
			return { entities: ordered.map(s => this.toEntity(s, projection) as Partial<T>) };
		}
		const ordered = this.order(rows, [], 0);
		const start = cursor ? this.resumeAfter(ordered, [], decodeCursor(this.profile, cursor)) : 0;
		const page = ordered.slice(start, start + size);
		return {
			entities: page.map(s => this.toEntity(s, projection) as Partial<T>),
			cursor:
				page.length === size ? encodeCursor(this.positionOf(page[page.length - 1], [])) : undefined
		};
	}

	/**
	 * The position of a record for a keyset cursor: its sort values, its id, its sequence and (on
	 * ScyllaDB) its clustering key.
	 * @param s The record.
	 * @param sorts The sort keys.
	 * @returns The position.
	 * @internal
	 */
	private positionOf(s: IStored, sorts: ISortKey[]): IStored {
		const data: { [key: string]: unknown } = {
			[this._primary]: s.data[this._primary],
			threadId: s.data.threadId
		};
		for (const k of sorts) {
			data[k.property] = s.data[k.property];
		}
		return { seq: s.seq, data };
	}

	/**
	 * The index of the first record after a position in an ordered list.
	 * @param ordered The records in query order.
	 * @param sorts The sort keys.
	 * @param position The position.
	 * @returns The index.
	 * @internal
	 */
	private resumeAfter(ordered: IStored[], sorts: ISortKey[], position: IStored): number {
		const effective =
			this.profile === "dynamodb" && sorts.length === 0
				? [{ property: this._primary, descending: false }]
				: sorts;
		const probe = this.order([...ordered, { ...position, seq: position.seq }], effective, 0);
		// The position sorts among the records; what follows it (other than itself) is next.
		const at = probe.findIndex(s => s.data === position.data);
		const next = probe.slice(at + 1);
		return next.length === 0 ? ordered.length : ordered.indexOf(next[0]);
	}
}

/**
 * Deep equality of stored values.
 * @param a The first.
 * @param b The second.
 * @returns True when equal.
 */
function valueEquals(a: unknown, b: unknown): boolean {
	if (a === b) {
		return true;
	}
	if (a instanceof Date && b instanceof Date) {
		return a.getTime() === b.getTime();
	}
	if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
		return JSON.stringify(a) === JSON.stringify(b);
	}
	return false;
}

/**
 * Read a property by a dotted path.
 * @param data The record.
 * @param path The path.
 * @returns The value.
 */
function propertyGet(data: { [key: string]: unknown }, path: string): unknown {
	let current: unknown = data;
	for (const part of path.split(".")) {
		if (current === null || typeof current !== "object") {
			return undefined;
		}
		current = (current as { [key: string]: unknown })[part];
	}
	return current;
}

/**
 * A 32-bit FNV-1a hash (stands for a partition token or a per-query tie order).
 * @param text The text.
 * @returns The hash.
 */
function hash(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h;
}

/**
 * Encode a keyset position as an opaque cursor.
 * @param position The position.
 * @returns The cursor.
 */
function encodeCursor(position: IStored): string {
	return Buffer.from(JSON.stringify(position), "utf8").toString("base64");
}

/**
 * Decode a keyset cursor.
 * @param profile The profile.
 * @param cursor The cursor.
 * @returns The position.
 */
function decodeCursor(profile: StrictProfile, cursor: string): IStored {
	try {
		return JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as IStored;
	} catch {
		throw new StrictRuleError(profile, "cursor from another query or store");
	}
}

/**
 * MongoDB's driver serialises undefined as null (ignoreUndefined false), at any depth.
 * @param value The value.
 * @returns The value with null for undefined.
 */
function undefinedToNull(value: unknown): unknown {
	if (value === undefined) {
		return null;
	}
	if (Array.isArray(value)) {
		return value.map(undefinedToNull);
	}
	if (value !== null && typeof value === "object" && !(value instanceof Date)) {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, undefinedToNull(v)]));
	}
	return value;
}

/**
 * DynamoDB's marshall with removeUndefinedValues: undefined is left out of maps and lists.
 * @param value The value.
 * @returns The value without undefined.
 */
function removeUndefined(value: unknown): unknown {
	if (Array.isArray(value)) {
		return value.filter(v => v !== undefined).map(removeUndefined);
	}
	if (value !== null && typeof value === "object" && !(value instanceof Date)) {
		return Object.fromEntries(
			Object.entries(value)
				.filter(([, v]) => v !== undefined)
				.map(([k, v]) => [k, removeUndefined(v)])
		);
	}
	return value;
}

/**
 * DynamoDB's marshall refuses numbers it cannot hold exactly as a JavaScript number.
 * @param profile The profile.
 * @param value The value.
 * @param path The path, for the message.
 */
function checkDynamoNumbers(profile: StrictProfile, value: unknown, path: string): void {
	if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
		throw new StrictRuleError(
			profile,
			`unsafe integer at ${path || "value"}`,
			"marshall: Number is greater than Number.MAX_SAFE_INTEGER"
		);
	}
	if (value !== null && typeof value === "object") {
		for (const [k, v] of Object.entries(value)) {
			checkDynamoNumbers(profile, v, path ? `${path}.${k}` : k);
		}
	}
}

/**
 * Firestore refuses undefined anywhere (the connector does not set ignoreUndefinedProperties) and
 * an array directly inside an array.
 * @param profile The profile.
 * @param value The value.
 * @param path The field path.
 * @param inArray Whether the value is an array element.
 */
function checkFirestoreValue(
	profile: StrictProfile,
	value: unknown,
	path: string,
	inArray: boolean
): void {
	if (value === undefined) {
		throw new StrictRuleError(
			profile,
			`undefined value in field ${path}`,
			`Cannot use "undefined" as a Firestore value (found in field "${path}")`
		);
	}
	if (Array.isArray(value)) {
		if (inArray) {
			throw new StrictRuleError(
				profile,
				`array inside an array in field ${path}`,
				"Firestore: Cannot have nested arrays"
			);
		}
		value.forEach((v, i) => checkFirestoreValue(profile, v, `${path}.${i}`, true));
		return;
	}
	if (value !== null && typeof value === "object" && !(value instanceof Date)) {
		for (const [k, v] of Object.entries(value)) {
			checkFirestoreValue(profile, v, path ? `${path}.${k}` : k, false);
		}
	}
}
