// MongoDbEntityStorageConnector: find().sort().skip().limit() on any property, $set upserts that
// merge, BSON's cross-type order, and ties in no fixed order.
import { StrictStore } from "./store.js";
import type { Condition, Data, IComparison, IGroup, ISortKey, IStored } from "./types.js";
import { pick } from "./values.js";

/**
 * The MongoDB profile.
 */
export class MongoDbProfile extends StrictStore {
	public readonly profile = "mongodb";

	// BSON: null and missing, numbers, strings, objects, arrays, booleans, dates.
	protected readonly typeOrder = [
		"undefined|null",
		"number|bigint",
		"string",
		"object",
		"array",
		"boolean",
		"date"
	];

	protected override readonly notIncludes = "unsupportedComparisonOperator";

	protected override readonly schemaNamesOnly = false;

	// Only MongoDB's $ne matches documents without the field (or with null).
	protected override readonly notEqualsMissing = true;

	protected override readonly includesSubstring = false;

	/**
	 * Conditional sets cannot run.
	 * @param operation The operation.
	 */
	public override checkOperationConditions(operation: "set" | "get" | "remove"): void {
		if (operation === "set") {
			this.fail(
				"conditional set",
				"findOneAndUpdate with the conditions in the filter and upsert:true inserts a second document with the same id when the existing one does not match"
			);
		}
	}

	/**
	 * findOneAndUpdate({ id }, { $set: entity }, { upsert: true }): the properties present are set
	 * (undefined as null, the driver's ignoreUndefined being false), the others keep their values.
	 * @param input The entity.
	 * @param existing The stored document.
	 */
	public override write(input: Data, existing: IStored | undefined): void {
		const values = undefinedToNull(input) as Data;
		if (existing) {
			existing.data = { ...existing.data, ...values };
		} else {
			this.insert(values);
		}
	}

	/**
	 * Documents come back with the _id fixed at insert.
	 * @param stored The document.
	 * @param projection The properties asked for.
	 * @returns A fresh entity.
	 */
	public override toEntity(stored: IStored, projection: string[] | undefined): Data {
		const doc = projection ? pick(stored.data, projection) : structuredClone(stored.data);
		return { _id: stored.seq.toString(16).padStart(24, "0"), ...doc };
	}

	/**
	 * Groups need a logicalOperator to use more than their first condition, and $and/$or a
	 * nonempty array.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 * @param groups Its groups.
	 */
	protected override checkComparisons(
		condition: Condition,
		all: IComparison[],
		groups: IGroup[]
	): void {
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
	}

	/**
	 * $eq null matches a missing field too.
	 * @param v The stored value.
	 * @returns True on a match.
	 */
	protected override equalsNull(v: unknown): boolean {
		return v === undefined || v === null;
	}

	/**
	 * Natural order without a sort; with one, ties in another order per query.
	 * @param a The first.
	 * @param b The second.
	 * @param sorts The sort keys.
	 * @param queryNumber The query.
	 * @returns Negative, zero or positive.
	 */
	protected override tie(a: IStored, b: IStored, sorts: ISortKey[], queryNumber: number): number {
		return sorts.length === 0 ? a.seq - b.seq : this.shuffledTie(a, b, queryNumber);
	}
}

/**
 * The driver serialises undefined as null (ignoreUndefined false), at any depth.
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
