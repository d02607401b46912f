// MySqlEntityStorageConnector on MariaDB or MySQL: ORDER BY ... LIMIT ... OFFSET on any schema
// property, INSERT ... ON DUPLICATE KEY UPDATE of the columns present, typed columns, JSON
// columns and case-insensitive collations.
import { ComparisonOperator } from "@twin.org/entity";
import { StrictStore } from "./store.js";
import type { Condition, Data, IComparison, ISortKey, IStored } from "./types.js";
import { compareText, isInt32 } from "./values.js";

/**
 * The MySQL profile.
 */
export class MySqlProfile extends StrictStore {
	public readonly profile = "mysql";

	// NULL first ascending.
	protected readonly typeOrder = [
		"undefined|null",
		"boolean|number|bigint|string|date|object|array"
	];

	protected override readonly notIncludes = "comparisonNotSupported";

	/**
	 * An empty sort array still writes ORDER BY.
	 * @param raw The sort argument as given.
	 * @param sorts The sort keys.
	 * @param condition The condition.
	 */
	public override checkSort(
		raw: unknown[] | undefined,
		sorts: ISortKey[],
		condition?: Condition
	): void {
		if (Array.isArray(raw) && raw.length === 0) {
			this.fail(
				"empty sort array",
				"Array.isArray([]) makes `ORDER BY ` with nothing after it: SQL syntax error near 'LIMIT'"
			);
		}
		super.checkSort(raw, sorts, condition);
	}

	/**
	 * INSERT ... ON DUPLICATE KEY UPDATE of the columns present: object columns hold
	 * JSON.stringify(value), undefined is NULL; number is FLOAT, integer INT, int64 and uint64
	 * BIGINT, boolean TINYINT(1).
	 * @param input The entity.
	 * @param existing The stored row.
	 */
	public override write(input: Data, existing: IStored | undefined): void {
		const row: Data = {};
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
				if (!isInt32(value)) {
					this.fail(`${key} out of the INT range`, `Out of range value for column '${key}'`);
				}
				row[key] = value;
			} else {
				row[key] = p?.type === "boolean" ? (value ? 1 : 0) : value;
			}
		}
		if (existing) {
			existing.data = { ...existing.data, ...row };
		} else {
			const nulls = (this.schema.properties ?? []).map(p => [p.property as string, null]);
			this.insert({ ...Object.fromEntries(nulls), ...row });
		}
	}

	/**
	 * Rows carry every column (NULL for none); MariaDB hands JSON columns back as text, mysql2 on
	 * MySQL parses them.
	 * @param stored The row.
	 * @param projection The columns asked for.
	 * @returns A fresh entity.
	 */
	public override toEntity(stored: IStored, projection: string[] | undefined): Data {
		const names = projection ?? (this.schema.properties ?? []).map(p => p.property as string);
		const out: Data = {};
		for (const n of names) {
			const value = stored.data[n] ?? null;
			const type = this.schemaProperty(n)?.type;
			const json = type === "object" || type === "array";
			out[n] =
				json && typeof value === "string" && this.options.mysqlServer === "mysql"
					? JSON.parse(value)
					: value;
		}
		return out;
	}

	/**
	 * Includes is JSON_CONTAINS(), for JSON columns only.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 */
	protected override checkComparisons(condition: Condition, all: IComparison[]): void {
		for (const c of all) {
			const type = this.schemaProperty(c.property)?.type;
			if (c.comparison === ComparisonOperator.Includes && type !== "object" && type !== "array") {
				this.fail(
					`Includes on the non-JSON column ${c.property}`,
					"the connector writes JSON_CONTAINS()"
				);
			}
		}
	}

	/**
	 * = NULL is never true in SQL.
	 * @returns False.
	 */
	protected override equalsNull(): boolean {
		return false;
	}

	/**
	 * <> NULL is never true in SQL.
	 * @returns False.
	 */
	protected override notEqualsNull(): boolean {
		return false;
	}

	/**
	 * The default collations (latin1_swedish_ci, utf8mb4_general_ci) ignore case.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 */
	protected override compareStrings(a: string, b: string): number {
		return compareText(a.toLowerCase(), b.toLowerCase());
	}

	/**
	 * The primary key order without a sort (InnoDB); with one, ties in another order per query.
	 * @param a The first.
	 * @param b The second.
	 * @param sorts The sort keys.
	 * @param queryNumber The query.
	 * @returns Negative, zero or positive.
	 */
	protected override tie(a: IStored, b: IStored, sorts: ISortKey[], queryNumber: number): number {
		return sorts.length === 0
			? compareText(this.idOf(a), this.idOf(b))
			: this.shuffledTie(a, b, queryNumber);
	}
}
