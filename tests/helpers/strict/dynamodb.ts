// DynamoDbEntityStorageConnector: a Query on partitionId "1" (the table, or the GSI of the one
// flagged sort key), key conditions on the primary key, a FilterExpression applied after Limit,
// unescaped projections, and full-replace puts marshalled without undefined.
import { ComparisonOperator, LogicalOperator } from "@twin.org/entity";
import { checkOneComparisonPerProperty, checkSingleFlaggedSort } from "./indexedSort.js";
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
import { decodeCursor, encodeCursor, flatten } from "./values.js";

/**
 * Reserved words among the BackgroundTask properties (checked against dynalite's list of 573,
 * validations/index.js RESERVED_WORDS), and a few more.
 */
const RESERVED = new Set(
	"type status result error data date name value values key count size timestamp user state".split(
		" "
	)
);

/**
 * The largest item, in bytes of JSON.
 */
const MAX_ITEM = 400 * 1024;

/**
 * The most a Query reads for one page, in bytes of JSON.
 */
const MAX_PAGE = 1024 * 1024;

/**
 * The operators a KeyConditionExpression takes.
 */
const KEY_OPERATORS: string[] = [
	ComparisonOperator.Equals,
	ComparisonOperator.GreaterThan,
	ComparisonOperator.GreaterThanOrEqual,
	ComparisonOperator.LessThan,
	ComparisonOperator.LessThanOrEqual
];

/**
 * The DynamoDB profile.
 */
export class DynamoDbProfile extends StrictStore {
	public readonly profile = "dynamodb";

	protected readonly typeOrder = [
		"undefined|null",
		"number|bigint",
		"string",
		"boolean|date|object|array"
	];

	protected override readonly notIncludes =
		"it writes notContains(), which is no DynamoDB function";

	/**
	 * marshall with removeUndefinedValues; GSI key attributes cannot be null, numbers must be safe.
	 * @param input The entity.
	 * @param existing The stored item.
	 */
	public override write(input: Data, existing: IStored | undefined): void {
		const item = removeUndefined(input) as Data;
		for (const p of this.schema.properties ?? []) {
			const name = p.property as string;
			if (item[name] === null && this.isFlagged(name) && !p.isPrimary) {
				this.fail(
					`null in ${name}, a GSI key attribute`,
					"ValidationException: Type mismatch for Index Key"
				);
			}
		}
		this.checkNumbers(item, "");
		if (JSON.stringify(item).length > MAX_ITEM) {
			this.fail(
				"item larger than 400 KB",
				"ValidationException: Item size has exceeded the maximum allowed size"
			);
		}
		this.replace(item, existing);
	}

	/**
	 * The GSI of a sort key holds only items that have the attribute; Limit counts the items read
	 * before the FilterExpression (every condition not on the key) drops any, so a page can be short
	 * or empty with a cursor; a page also stops at 1 MB read; LastEvaluatedKey is given whenever
	 * Limit was reached, even at the end.
	 * @param query The query.
	 * @returns The page.
	 */
	public override page(query: IQuery): IPage {
		const keys = query.condition ? this.keyComparisons(query.condition) : [];
		const sortKey = query.sorts[0];
		const onIndex = sortKey !== undefined && sortKey.property !== this.primary;
		const sorts =
			query.sorts.length > 0 ? query.sorts : [{ property: this.primary, descending: false }];
		const ordered = this.order(
			this.records.filter(
				s =>
					keys.every(k => this.matches(s.data, k)) &&
					(!onIndex ||
						(s.data[sortKey.property] !== undefined && s.data[sortKey.property] !== null))
			),
			sorts,
			0
		);
		const start = query.cursor
			? this.resumeAfter(ordered, sorts, decodeCursor(this.profile, query.cursor))
			: 0;
		const read: IStored[] = [];
		let bytes = 0;
		for (let i = start; i < ordered.length && read.length < query.size; i++) {
			bytes += JSON.stringify(ordered[i].data).length;
			read.push(ordered[i]);
			if (bytes >= MAX_PAGE) {
				break;
			}
		}
		const stoppedEarly =
			read.length === query.size ||
			(read.length > 0 && bytes >= MAX_PAGE && start + read.length < ordered.length);
		return {
			entities: this.entities(
				read.filter(s => this.matches(s.data, query.condition)),
				query.projection
			),
			cursor: stoppedEarly
				? encodeCursor(this.positionOf(read[read.length - 1], query.sorts))
				: undefined
		};
	}

	/**
	 * One sort key on a flagged property; a key condition cannot go to another property's GSI.
	 * @param sorts The sort keys.
	 * @param condition The condition.
	 */
	protected override checkSortKeys(sorts: ISortKey[], condition?: Condition): void {
		checkSingleFlaggedSort(this, sorts);
		const property = sorts[0].property;
		if (property !== this.primary && condition && this.keyComparisons(condition).length > 0) {
			this.fail(
				`condition on ${this.primary} with a sort on ${property}`,
				`the key condition goes to the ${property}Index GSI: "Query condition missed key schema element"`
			);
		}
	}

	/**
	 * One comparison per property; key comparisons are ANDed and take only = < <= > >=; IN takes
	 * at most 100 operands.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 * @param groups Its groups.
	 */
	protected override checkComparisons(
		condition: Condition,
		all: IComparison[],
		groups: IGroup[]
	): void {
		checkOneComparisonPerProperty(this, all);
		const keys = this.keyComparisons(condition);
		if (keys.length > 0 && groups.some(g => g.logicalOperator === LogicalOperator.Or)) {
			this.fail(
				`condition on ${this.primary} inside an Or group`,
				"key comparisons are pulled into KeyConditionExpression and ANDed"
			);
		}
		for (const k of keys) {
			if (!KEY_OPERATORS.includes(k.comparison)) {
				this.fail(
					`${k.comparison} on the key ${this.primary}`,
					"Invalid operator used in KeyConditionExpression"
				);
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

	/**
	 * ProjectionExpression is not escaped.
	 * @param name The name.
	 */
	protected override checkProjected(name: string): void {
		if (RESERVED.has(name.toLowerCase())) {
			this.fail(
				`projection of the reserved word ${name}`,
				`ProjectionExpression is not escaped: "Attribute name is a reserved keyword; reserved keyword: ${name}"`
			);
		}
	}

	/**
	 * Equals null or undefined matches only an item without the attribute.
	 * @param v The stored value.
	 * @returns True on a match.
	 */
	protected override equalsNull(v: unknown): boolean {
		return v === undefined;
	}

	/**
	 * NotEquals null or undefined matches any item with the attribute.
	 * @param v The stored value.
	 * @returns True on a match.
	 */
	protected override notEqualsNull(v: unknown): boolean {
		return v !== undefined;
	}

	/**
	 * The comparisons that become key conditions (on the primary key).
	 * @param condition The condition.
	 * @returns The comparisons.
	 */
	private keyComparisons(condition: Condition): IComparison[] {
		return flatten(condition).filter(c => c.property === this.primary);
	}

	/**
	 * marshall refuses numbers it cannot hold exactly as a JavaScript number.
	 * @param value The value.
	 * @param path The path, for the message.
	 */
	private checkNumbers(value: unknown, path: string): void {
		if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
			this.fail(
				`unsafe integer at ${path || "value"}`,
				"marshall: Number is greater than Number.MAX_SAFE_INTEGER"
			);
		}
		if (value !== null && typeof value === "object") {
			for (const [k, v] of Object.entries(value)) {
				this.checkNumbers(v, path ? `${path}.${k}` : k);
			}
		}
	}
}

/**
 * marshall with removeUndefinedValues: undefined is left out of maps and lists.
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
