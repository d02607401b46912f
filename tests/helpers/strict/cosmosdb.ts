// CosmosDbEntityStorageConnector: one sort key on a flagged property, c.<name> written unescaped,
// full-replace upserts of JSON, and continuation tokens that resume after the last item.
import { ComparisonOperator } from "@twin.org/entity";
import { Is } from "@twin.org/core";
import { checkOneComparisonPerProperty, checkSingleFlaggedSort } from "./indexedSort.js";
import { StrictStore } from "./store.js";
import type { Condition, Data, IComparison, IPage, IQuery, ISortKey, IStored } from "./types.js";
import { decodeCursor, encodeCursor } from "./values.js";

/**
 * Cosmos DB NoSQL keywords: `c.<keyword>` does not parse.
 */
const KEYWORDS = new Set(
	`and array as asc between by case cast convert cross desc distinct else end escape exists false
	for from group having in inner insert into is join left like limit not null offset on or order
	outer over right select set then top true udf undefined update value when where with`.split(/\s+/)
);

/**
 * The largest item, in bytes of JSON.
 */
const MAX_ITEM = 2 * 1024 * 1024;

/**
 * The most a page reads, in bytes of JSON.
 */
const MAX_PAGE = 4 * 1024 * 1024;

/**
 * The Cosmos DB profile.
 */
export class CosmosDbProfile extends StrictStore {
	public readonly profile = "cosmosdb";

	protected readonly typeOrder = [
		"undefined",
		"null",
		"boolean",
		"number|bigint",
		"string",
		"array",
		"object"
	];

	protected override readonly notIncludes =
		"it writes notContains(), which is no Cosmos DB function";

	protected override readonly notEqualsOtherType = false;

	/**
	 * The SDK sends JSON: undefined properties are left out.
	 * @param input The entity.
	 * @param existing The stored item.
	 */
	public override write(input: Data, existing: IStored | undefined): void {
		const json = JSON.stringify(input);
		if (json.length > MAX_ITEM) {
			this.fail("item larger than 2 MB", "RequestEntityTooLarge");
		}
		this.replace(JSON.parse(json) as Data, existing);
	}

	/**
	 * maxItemCount = page size and a continuation token after the last item returned; the SDK fills
	 * each page (up to 4 MB), and a token follows a full page even when nothing is left.
	 * @param query The query.
	 * @returns The page.
	 */
	public override page(query: IQuery): IPage {
		const ordered = this.ordered(query);
		const start = query.cursor
			? this.resumeAfter(ordered, query.sorts, decodeCursor(this.profile, query.cursor))
			: 0;
		const page: IStored[] = [];
		let bytes = 0;
		for (let i = start; i < ordered.length && page.length < query.size; i++) {
			bytes += JSON.stringify(ordered[i].data).length;
			if (page.length > 0 && bytes > MAX_PAGE) {
				break;
			}
			page.push(ordered[i]);
		}
		const more = page.length === query.size || start + page.length < ordered.length;
		return {
			entities: this.entities(page, query.projection),
			cursor:
				more && page.length > 0
					? encodeCursor(this.positionOf(page[page.length - 1], query.sorts))
					: undefined
		};
	}

	/**
	 * One sort key, on a flagged property.
	 * @param sorts The sort keys.
	 */
	protected override checkSortKeys(sorts: ISortKey[]): void {
		checkSingleFlaggedSort(this, sorts);
	}

	/**
	 * One comparison per property, defined values, and the connector's In and Includes encodings.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 */
	protected override checkComparisons(condition: Condition, all: IComparison[]): void {
		checkOneComparisonPerProperty(this, all);
		for (const c of all) {
			const type = this.schemaProperty(c.property)?.type;
			if (c.value === undefined) {
				this.fail(
					`condition on ${c.property} with an undefined value`,
					"an undefined parameter matches nothing"
				);
			}
			if (c.comparison === ComparisonOperator.In && (type === "number" || type === "integer")) {
				this.fail(
					`In on the number property ${c.property}`,
					"the connector turns In values into strings"
				);
			}
			if (c.comparison === ComparisonOperator.Includes && type === "array" && !Is.object(c.value)) {
				this.fail(
					`Includes of a scalar in the array property ${c.property}`,
					"the connector writes CONTAINS(), a string function"
				);
			}
		}
	}

	/**
	 * The connector writes c.<name> unescaped.
	 * @param name The name.
	 */
	protected override checkProjected(name: string): void {
		if (KEYWORDS.has(name.toLowerCase()) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
			this.fail(
				`projection of ${name}`,
				"the connector writes c.<name> unescaped, and this name is a keyword or no identifier"
			);
		}
	}

	/**
	 * Ties in insertion order.
	 * @param a The first.
	 * @param b The second.
	 * @returns Negative, zero or positive.
	 */
	protected override tie(a: IStored, b: IStored): number {
		return a.seq - b.seq;
	}
}
