// The strict double itself: an IEntitySchema-checked IEntityStorageConnector whose CLASS_NAME is
// the real connector's (so code that picks a query shape by CLASS_NAME picks the same one) and
// which hands every call to the store of its profile. Everything written and read is copied.
import { Guards, Is } from "@twin.org/core";
import {
	EntitySchemaHelper,
	SortDirection,
	type EntityCondition,
	type IEntitySchema
} from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import { CosmosDbProfile } from "./cosmosdb.js";
import { DynamoDbProfile } from "./dynamodb.js";
import { FirestoreProfile } from "./firestore.js";
import { MongoDbProfile } from "./mongodb.js";
import { MySqlProfile } from "./mysql.js";
import { ScyllaDbProfile } from "./scylladb.js";
import type { StrictStore } from "./store.js";
import {
	STRICT_CLASS_NAMES,
	type Condition,
	type IStrictStorageOptions,
	type StrictProfile
} from "./types.js";
import { matchesAll, valueEquals } from "./values.js";

/**
 * The store of each profile.
 */
const PROFILES: {
	[profile in StrictProfile]: new (options: Required<IStrictStorageOptions>) => StrictStore;
} = {
	mongodb: MongoDbProfile,
	cosmosdb: CosmosDbProfile,
	firestore: FirestoreProfile,
	scylladb: ScyllaDbProfile,
	dynamodb: DynamoDbProfile,
	mysql: MySqlProfile
};

/**
 * Default page size of every connector (each has `_PAGE_SIZE = 40`).
 */
const PAGE_SIZE = 40;

/**
 * An in-memory IEntityStorageConnector that throws a StrictRuleError where the real connector of
 * its profile cannot go and otherwise behaves as it does.
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
	 * The records and the profile's rules.
	 * @internal
	 */
	private readonly _store: StrictStore;

	/**
	 * Queries made, for the per-query order of ties.
	 * @internal
	 */
	private _queries = 0;

	/**
	 * Create a new StrictEntityStorageConnector.
	 * @param options The options.
	 */
	constructor(options: IStrictStorageOptions) {
		this.profile = options.profile;
		this.CLASS_NAME = STRICT_CLASS_NAMES[options.profile];
		this._store = new PROFILES[options.profile]({
			entitySchema: "BackgroundTask",
			scyllaIndexes: [],
			scyllaDates: "timestamp",
			mysqlServer: "mariadb",
			seed: 1,
			...options
		});
	}

	/**
	 * Get the schema for the entities.
	 * @returns The schema.
	 */
	public getSchema(): IEntitySchema {
		return this._store.schema;
	}

	/**
	 * Set an entity.
	 * @param entity The entity.
	 * @param conditions Conditions an existing entity must match.
	 */
	public async set(entity: T, conditions?: { property: keyof T; value: unknown }[]): Promise<void> {
		Guards.object(this.CLASS_NAME, "entity", entity);
		EntitySchemaHelper.validateEntity(entity, this._store.schema);
		const input = structuredClone(entity) as { [key: string]: unknown };
		const existing = this._store.byId(input[this._store.primary] as string);
		if (Is.arrayValue(conditions)) {
			this._store.checkOperationConditions("set");
			if (existing && !matchesAll(existing.data, conditions)) {
				return;
			}
		}
		this._store.write(input, existing);
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
		const property = (secondaryIndex as string | undefined) ?? this._store.primary;
		if (Is.arrayValue(conditions)) {
			this._store.checkOperationConditions("get");
		}
		const found = this._store.pickOne(
			this._store.records.filter(
				s => valueEquals(s.data[property], id) && matchesAll(s.data, conditions)
			),
			secondaryIndex !== undefined
		);
		return found ? (this._store.toEntity(found, undefined) as T) : undefined;
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
		if (Is.arrayValue(conditions)) {
			this._store.checkOperationConditions("remove");
		}
		const primary = this._store.primary;
		this._store.records = this._store.records.filter(
			s => !(valueEquals(s.data[primary], id) && matchesAll(s.data, conditions))
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
			this._store.fail("page size must be a positive integer", `got ${size}`);
		}
		this._store.checkSort(sortProperties, sorts, condition);
		if (condition) {
			this._store.checkCondition(condition, sorts);
		}
		if (projection) {
			this._store.checkProjection(projection);
		}
		const page = this._store.page({ condition, sorts, projection, cursor, size, queryNumber });
		return page as { entities: Partial<T>[]; cursor?: string };
	}

	/**
	 * Every stored record, as the database holds it (for tests that look behind the connector).
	 * @returns Copies of the records.
	 */
	public raw(): { [key: string]: unknown }[] {
		return this._store.records.map(s => structuredClone(s.data));
	}
}
