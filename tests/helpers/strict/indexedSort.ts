// Rules Cosmos DB's and DynamoDB's connectors share: they sort by one flagged property only and
// name each value parameter after its property.
import type { StrictStore } from "./store.js";
import type { IComparison, ISortKey } from "./types.js";

/**
 * Refuse more than one sort key, or one on a property that is not primary, secondary or
 * sortDirection-flagged.
 * @param store The store.
 * @param sorts The sort keys, at least one.
 */
export function checkSingleFlaggedSort(store: StrictStore, sorts: ISortKey[]): void {
	if (sorts.length > 1) {
		store.fail("sort on more than one property", "the connector throws sortSingle");
	}
	if (!store.isFlagged(sorts[0].property)) {
		store.fail(
			`sort on ${sorts[0].property}, which is not primary, secondary or sortDirection-flagged`,
			"the connector throws sortNotIndexed"
		);
	}
}

/**
 * Refuse two comparisons on one property: the second value would overwrite the first.
 * @param store The store.
 * @param all The comparisons.
 */
export function checkOneComparisonPerProperty(store: StrictStore, all: IComparison[]): void {
	const seen = new Set<string>();
	for (const c of all) {
		if (seen.has(c.property)) {
			store.fail(
				`two comparisons on ${c.property}`,
				"the connector names the value parameter after the property, so the second value overwrites the first"
			);
		}
		seen.add(c.property);
	}
}
