// Condition evaluation and ordering of the strict double, with the hooks where the stores differ:
// how comparisons treat missing values and values of other types, the cross-type sort order, the
// collation and the order of ties. The defaults are what most of the stores do.
import {
	ComparisonOperator,
	EntitySchemaFactory,
	EntitySchemaHelper,
	LogicalOperator,
	type IEntitySchema,
	type IEntitySchemaProperty
} from "@twin.org/entity";
import {
	StrictRuleError,
	type Condition,
	type Data,
	type IStored,
	type ISortKey,
	type IStrictStorageOptions,
	type StrictProfile
} from "./types.js";
import { compareText, hash, propertyGet, valueEquals } from "./values.js";

/**
 * The schema, the matching and the ordering of one double.
 */
export abstract class StrictEvaluator {
	/**
	 * The profile.
	 */
	public abstract readonly profile: StrictProfile;

	/**
	 * The schema.
	 */
	public readonly schema: IEntitySchema;

	/**
	 * The primary key property.
	 */
	public readonly primary: string;

	/**
	 * The type groups of the cross-type sort order, lowest first ("number|bigint").
	 */
	protected abstract readonly typeOrder: string[];

	/**
	 * Whether NotEquals a value matches a record without the field (or with null).
	 */
	protected readonly notEqualsMissing: boolean = false;

	/**
	 * Whether NotEquals a value matches a value of another type.
	 */
	protected readonly notEqualsOtherType: boolean = true;

	/**
	 * Whether Includes on a string field is a substring match.
	 */
	protected readonly includesSubstring: boolean = true;

	/**
	 * Create a new StrictEvaluator.
	 * @param options The options, defaults filled in.
	 */
	constructor(public readonly options: Required<IStrictStorageOptions>) {
		this.schema = EntitySchemaFactory.get(options.entitySchema);
		this.primary = EntitySchemaHelper.getPrimaryKey(this.schema).property as string;
	}

	/**
	 * Throw a broken rule.
	 * @param rule The rule.
	 * @param detail What the real connector or database says.
	 */
	public fail(rule: string, detail?: string): never {
		throw new StrictRuleError(this.profile, rule, detail);
	}

	/**
	 * The schema property of a name.
	 * @param name The name.
	 * @returns The property.
	 */
	public schemaProperty(name: string): IEntitySchemaProperty | undefined {
		return (this.schema.properties ?? []).find(p => p.property === name);
	}

	/**
	 * Whether a property is primary, secondary or has a sortDirection (what DynamoDB's GSIs and
	 * Cosmos DB's sort check require).
	 * @param name The property.
	 * @returns True when flagged.
	 */
	public isFlagged(name: string): boolean {
		const p = this.schemaProperty(name);
		return p?.isPrimary === true || p?.isSecondary === true || p?.sortDirection !== undefined;
	}

	/**
	 * Whether a record matches a condition, with the profile's handling of missing values and of
	 * values of other types.
	 * @param data The record.
	 * @param condition The condition.
	 * @returns True on a match.
	 */
	protected matches(data: Data, condition: Condition | undefined): boolean {
		if (!condition) {
			return true;
		}
		if ("conditions" in condition) {
			const results = condition.conditions.map(c => this.matches(data, c));
			return condition.logicalOperator === LogicalOperator.Or
				? results.some(Boolean)
				: results.every(Boolean);
		}
		const v = propertyGet(data, condition.property);
		const value = condition.value;
		const missing = v === undefined || v === null;
		switch (condition.comparison) {
			case ComparisonOperator.Equals:
				return value === undefined || value === null ? this.equalsNull(v) : valueEquals(v, value);
			case ComparisonOperator.NotEquals:
				if (value === undefined || value === null) {
					return this.notEqualsNull(v);
				}
				if (missing) {
					return this.notEqualsMissing;
				}
				return sameType(v, value) ? !valueEquals(v, value) : this.notEqualsOtherType;
			case ComparisonOperator.GreaterThan:
			case ComparisonOperator.GreaterThanOrEqual:
			case ComparisonOperator.LessThan:
			case ComparisonOperator.LessThanOrEqual: {
				if (!sameType(v, value) || typeof v === "object") {
					return false;
				}
				const r = this.compareValues(v, value);
				return {
					[ComparisonOperator.GreaterThan]: r > 0,
					[ComparisonOperator.GreaterThanOrEqual]: r >= 0,
					[ComparisonOperator.LessThan]: r < 0,
					[ComparisonOperator.LessThanOrEqual]: r <= 0
				}[condition.comparison];
			}
			case ComparisonOperator.In:
				return (Array.isArray(value) ? value : [value]).some(x => valueEquals(v, x));
			case ComparisonOperator.Includes:
				if (Array.isArray(v)) {
					return v.some(x => valueEquals(x, value));
				}
				return this.includesSubstring && typeof v === "string" && typeof value === "string"
					? v.includes(value)
					: false;
			default:
				return false;
		}
	}

	/**
	 * Whether Equals null or undefined matches a stored value.
	 * @param v The stored value.
	 * @returns True on a match.
	 */
	protected equalsNull(v: unknown): boolean {
		return v === null;
	}

	/**
	 * Whether NotEquals null or undefined matches a stored value.
	 * @param v The stored value.
	 * @returns True on a match.
	 */
	protected notEqualsNull(v: unknown): boolean {
		return v !== undefined && v !== null;
	}

	/**
	 * Compare two values in the profile's order.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 */
	protected compareValues(a: unknown, b: unknown): number {
		const ra = this.typeRank(a);
		const rb = this.typeRank(b);
		if (ra !== rb) {
			return ra - rb;
		}
		if (a === undefined || a === null || b === undefined || b === null) {
			return 0;
		}
		if (typeof a === "number" || typeof a === "bigint" || typeof a === "boolean") {
			return Number(a) - Number(b);
		}
		if (a instanceof Date && b instanceof Date) {
			return a.getTime() - b.getTime();
		}
		return this.compareStrings(
			typeof a === "string" ? a : JSON.stringify(a),
			typeof b === "string" ? b : JSON.stringify(b)
		);
	}

	/**
	 * Compare two strings (or JSON texts) in the store's collation.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 */
	protected compareStrings(a: string, b: string): number {
		return compareText(a, b);
	}

	/**
	 * Order records by the sort keys, then by the profile's tie order.
	 * @param records The records.
	 * @param sorts The sort keys.
	 * @param queryNumber The query, for the per-query tie order.
	 * @returns The ordered records.
	 */
	protected order(records: IStored[], sorts: ISortKey[], queryNumber: number): IStored[] {
		return [...records].sort((a, b) => {
			for (const s of sorts) {
				const r = this.compareValues(a.data[s.property], b.data[s.property]);
				if (r !== 0) {
					return s.descending ? -r : r;
				}
			}
			return this.tie(a, b, sorts, queryNumber);
		});
	}

	/**
	 * The order of records equal on every sort key: by default by id in the direction of the last
	 * sort key (Firestore's document id, DynamoDB's range key).
	 * @param a The first.
	 * @param b The second.
	 * @param sorts The sort keys.
	 * @param queryNumber The query.
	 * @returns Negative, zero or positive.
	 */
	protected tie(a: IStored, b: IStored, sorts: ISortKey[], queryNumber: number): number {
		const r = compareText(this.idOf(a), this.idOf(b));
		return sorts.length > 0 && sorts[sorts.length - 1].descending ? -r : r;
	}

	/**
	 * A tie order that differs per query, as on the stores that leave it undefined: offset paging
	 * over ties then repeats some records and skips others.
	 * @param a The first.
	 * @param b The second.
	 * @param queryNumber The query.
	 * @returns Negative, zero or positive.
	 */
	protected shuffledTie(a: IStored, b: IStored, queryNumber: number): number {
		const seed = `${this.options.seed}:${queryNumber}:`;
		return hash(seed + this.idOf(a)) - hash(seed + this.idOf(b));
	}

	/**
	 * The id of a record as text.
	 * @param s The record.
	 * @returns The id.
	 */
	protected idOf(s: IStored): string {
		return String(s.data[this.primary]);
	}

	/**
	 * The rank of a value's type in the profile's cross-type order.
	 * @param value The value.
	 * @returns The rank.
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
		return this.typeOrder.findIndex(group => group.split("|").includes(kind));
	}
}

/**
 * Whether two values are both present and of one type.
 * @param x The first.
 * @param y The second.
 * @returns True when alike.
 */
function sameType(x: unknown, y: unknown): boolean {
	return (
		x !== undefined &&
		x !== null &&
		y !== undefined &&
		y !== null &&
		typeof x === typeof y &&
		Array.isArray(x) === Array.isArray(y)
	);
}
