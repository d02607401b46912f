// ScyllaDBTableConnector: CQL without ALLOW FILTERING (only key restrictions and one Equals on an
// indexed column), ORDER BY only on the clustering column, unquoted names, UPDATE upserts keyed by
// id and threadId, and reads that drop falsy values and give Date and Long.
import { ComparisonOperator, LogicalOperator, type IEntitySchemaProperty } from "@twin.org/entity";
import { ScyllaLong } from "./scyllaLong.js";
import { StrictStore } from "./store.js";
import type {
	Condition,
	Data,
	IComparison,
	IGroup,
	IPage,
	IQuery,
	ISortKey,
	IStored
} from "./types.js";
import {
	compareText,
	decodeCursor,
	encodeCursor,
	flatten,
	hash,
	isInt32,
	pick,
	valueEquals
} from "./values.js";

/**
 * CQL reserved keywords: an unquoted one does not parse.
 */
const RESERVED = new Set(
	`add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe
	drop entries execute from full grant if in index infinity insert into keyspace limit modify nan
	norecursive not null of on or order primary rename replace revoke schema select set table to
	token truncate unlogged update use using view where with`.split(/\s+/)
);

const ALLOW_FILTERING = "the connector never adds ALLOW FILTERING";

/**
 * The ScyllaDB profile.
 */
export class ScyllaDbProfile extends StrictStore {
	public readonly profile = "scylladb";

	protected readonly typeOrder = [
		"undefined|null",
		"boolean|number|bigint|string|date|object|array"
	];

	/**
	 * Conditions go into a WHERE that takes only key columns, or are ignored.
	 * @param operation The operation.
	 */
	public override checkOperationConditions(operation: "set" | "get" | "remove"): void {
		if (operation === "get") {
			this.fail("get with conditions", "the connector ignores them");
		}
		const statement = operation === "set" ? "UPDATE" : "DELETE";
		this.fail(
			`conditional ${operation}`,
			`the conditions go into the ${statement}'s WHERE, which takes only key columns`
		);
	}

	/**
	 * `UPDATE t SET <every non-key column>=? WHERE "threadId"=? AND "id"=?` (an upsert): undefined
	 * binds as unset and keeps the column's value, null clears it, and a changed clustering column
	 * (threadId) writes another row of the same id.
	 * @param input The entity.
	 */
	public override write(input: Data): void {
		const properties = this.schema.properties ?? [];
		const keys = properties
			.filter(p => p.isPrimary || p.isSecondary)
			.map(p => p.property as string);
		const row = this.records.find(s => keys.every(k => valueEquals(s.data[k], input[k])));
		const values: Data = {};
		for (const p of properties) {
			const name = p.property as string;
			const value = input[name];
			if (p.isPrimary || p.isSecondary) {
				values[name] = value;
			} else if (value !== undefined) {
				values[name] = value === null ? null : this.toColumn(p, value);
			}
		}
		if (row) {
			row.data = { ...row.data, ...values };
		} else {
			this.insert(values);
		}
	}

	/**
	 * `WHERE "id"=?` returns one row per clustering key; the connector returns an entity only when
	 * exactly one row came back.
	 * @param matches The matching rows.
	 * @param bySecondary Whether the get named a secondary index.
	 * @returns The row.
	 */
	public override pickOne(matches: IStored[], bySecondary: boolean): IStored | undefined {
		return bySecondary || matches.length === 1 ? matches[0] : undefined;
	}

	/**
	 * convertRowToObject: every schema property, `if (value)` drops 0, false, "" and null; object
	 * columns "null" and "undefined" read as absent; TIMESTAMP is a Date and BIGINT a Long.
	 * @param stored The row.
	 * @param projection The columns asked for.
	 * @returns A fresh entity.
	 */
	public override toEntity(stored: IStored, projection: string[] | undefined): Data {
		const row = projection ? pick(stored.data, projection) : stored.data;
		const out: Data = {};
		for (const p of this.schema.properties ?? []) {
			const name = p.property as string;
			const value = row[name];
			if (!value || (p.type === "object" && (value === "null" || value === "undefined"))) {
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

	/**
	 * Without a sort, rows in token order, fetchSize = page size and the paging state as cursor
	 * whenever a page is full; with a sort, paging is off (fetchSize 0): every row, no cursor.
	 * @param query The query.
	 * @returns The page.
	 */
	public override page(query: IQuery): IPage {
		const ordered = this.ordered(query);
		if (query.sorts.length > 0) {
			return { entities: this.entities(ordered, query.projection) };
		}
		const start = query.cursor
			? this.resumeAfter(ordered, [], decodeCursor(this.profile, query.cursor))
			: 0;
		const page = ordered.slice(start, start + query.size);
		return {
			entities: this.entities(page, query.projection),
			cursor:
				page.length === query.size
					? encodeCursor(this.positionOf(page[page.length - 1], []))
					: undefined
		};
	}

	/**
	 * ORDER BY takes one clustering column, with the partition key restricted by = or IN.
	 * @param sorts The sort keys.
	 * @param condition The condition.
	 */
	protected override checkSortKeys(sorts: ISortKey[], condition?: Condition): void {
		if (sorts.length > 1) {
			this.fail(
				"sort on more than one property",
				"the connector uses only the first and ignores the rest"
			);
		}
		const restricted = condition !== undefined && this.idRestricted(condition);
		if (!this.schemaProperty(sorts[0].property)?.isSecondary || !restricted) {
			this.fail(
				`sort on ${sorts[0].property}`,
				"CQL ORDER BY takes only a clustering column (here threadId) with the partition key restricted by = or IN"
			);
		}
	}

	/**
	 * Only key restrictions and a single Equals on an indexed column run without ALLOW FILTERING.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 * @param groups Its groups.
	 * @param sorts The sort keys.
	 */
	protected override checkComparisons(
		condition: Condition,
		all: IComparison[],
		groups: IGroup[],
		sorts: ISortKey[]
	): void {
		if (groups.length > 1) {
			this.fail(
				"nested condition group",
				"the connector reads only the top-level list of comparisons"
			);
		}
		if (groups[0]?.logicalOperator === LogicalOperator.Or) {
			this.fail("Or condition group", "CQL has no OR");
		}
		const restricted = this.idRestricted(condition);
		const indexes = this.options.scyllaIndexes;
		for (const c of all) {
			if (
				c.comparison === ComparisonOperator.Includes ||
				c.comparison === ComparisonOperator.NotIncludes
			) {
				this.fail(
					`${c.comparison} on ${c.property}`,
					`the connector writes LIKE '%value%' unescaped, which needs ALLOW FILTERING; ${ALLOW_FILTERING}`
				);
			}
			if (c.comparison === ComparisonOperator.NotEquals) {
				this.fail(`NotEquals on ${c.property}`, "CQL has no != restriction");
			}
			if (c.property === this.primary) {
				if (!isIdRestriction(c)) {
					this.fail(
						`${c.comparison} on the partition key ${c.property}`,
						"only = and IN restrict a partition key"
					);
				}
			} else if (this.schemaProperty(c.property)?.isSecondary) {
				if (!restricted) {
					this.fail(
						`condition on the clustering column ${c.property} without the partition key`,
						ALLOW_FILTERING
					);
				}
			} else if (indexes.includes(c.property)) {
				if (c.comparison !== ComparisonOperator.Equals) {
					this.fail(
						`${c.comparison} on the indexed column ${c.property}`,
						`a secondary index serves only =; ${ALLOW_FILTERING}`
					);
				}
			} else {
				this.fail(
					`condition on ${c.property}, neither a key nor an indexed column`,
					ALLOW_FILTERING
				);
			}
		}
		const indexed = all.filter(c => indexes.includes(c.property));
		if (indexed.length > 1) {
			this.fail("conditions on two indexed columns", ALLOW_FILTERING);
		}
		if (sorts.length > 0 && indexed.length > 0) {
			this.fail(
				"sort with a condition on an indexed column",
				"ORDER BY is not supported with secondary indexes"
			);
		}
	}

	/**
	 * The connector writes the names unquoted, and CQL folds them to lower case.
	 * @param name The name.
	 */
	protected override checkProjected(name: string): void {
		if (name !== name.toLowerCase()) {
			this.fail(
				`projection of the camelCase column ${name}`,
				`the connector writes the names unquoted and CQL folds them to lower case: "Undefined column name ${name.toLowerCase()}"`
			);
		}
		if (RESERVED.has(name)) {
			this.fail(
				`projection of the reserved word ${name}`,
				"the connector writes the names unquoted"
			);
		}
	}

	/**
	 * Equals null or undefined matches nothing.
	 * @returns False.
	 */
	protected override equalsNull(): boolean {
		return false;
	}

	/**
	 * Rows in token order (a hash of the partition key), then by id and clustering key.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 */
	protected override tie(a: IStored, b: IStored): number {
		const ida = this.idOf(a);
		const idb = this.idOf(b);
		return (
			hash(ida) - hash(idb) ||
			compareText(ida, idb) ||
			this.compareValues(a.data.threadId, b.data.threadId)
		);
	}

	/**
	 * Whether a condition restricts the partition key by = or IN.
	 * @param condition The condition.
	 * @returns True when restricted.
	 */
	private idRestricted(condition: Condition): boolean {
		return flatten(condition).some(c => c.property === this.primary && isIdRestriction(c));
	}

	/**
	 * A value as a column of the connector's type mapping holds it.
	 * @param p The property.
	 * @param value The value.
	 * @returns The column value.
	 */
	private toColumn(p: IEntitySchemaProperty, value: unknown): unknown {
		const name = p.property as string;
		if (p.type === "object" || p.type === "array") {
			// Bound as it is (no JSON); the hand-made table has TEXT here, since the bootstrap throws
			// itemTypeNotDefined for an object without itemTypeRef.
			if (typeof value !== "string") {
				this.fail(
					`${typeof value} value in the object column ${name}`,
					`the connector binds object values unencoded: "Not a valid text value, expected String"`
				);
			}
			return value;
		}
		const isDate = p.type === "string" && (p.format === "date-time" || p.format === "date");
		if (isDate && this.options.scyllaDates === "timestamp") {
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
			if (!isInt32(value)) {
				this.fail(`${name} out of the INT range`, "the driver's int encoder refuses it");
			}
		}
		return value;
	}
}

/**
 * Whether a comparison is = or IN (what restricts a partition key).
 * @param c The comparison.
 * @returns True when it is.
 */
function isIdRestriction(c: IComparison): boolean {
	return c.comparison === ComparisonOperator.Equals || c.comparison === ComparisonOperator.In;
}
