// FirestoreEntityStorageConnector: where() per comparison ANDed, orderBy() that drops documents
// without the field, full-replace sets that refuse undefined, and document-path cursors.
import { ComparisonOperator, LogicalOperator } from "@twin.org/entity";
import { Is } from "@twin.org/core";
import { StrictStore } from "./store.js";
import type { Condition, Data, IComparison, IGroup, IPage, IQuery, IStored } from "./types.js";

/**
 * The largest document, in bytes of JSON.
 */
const MAX_DOCUMENT = 1024 * 1024 - 1024;

/**
 * The Firestore profile.
 */
export class FirestoreProfile extends StrictStore {
	public readonly profile = "firestore";

	// null, boolean, number, timestamp, string, array, map (missing is dropped by orderBy).
	protected readonly typeOrder = [
		"undefined",
		"null",
		"boolean",
		"number|bigint",
		"date",
		"string",
		"array",
		"object"
	];

	protected override readonly notIncludes = "unsupportedComparisonOperator";

	protected override readonly includesSubstring = false;

	/**
	 * A full replace of a document that holds no undefined and no array in an array.
	 * @param input The entity.
	 * @param existing The stored document.
	 */
	public override write(input: Data, existing: IStored | undefined): void {
		this.checkValue(input, "", false);
		if (JSON.stringify(input).length > MAX_DOCUMENT) {
			this.fail("document larger than 1 MiB", "INVALID_ARGUMENT");
		}
		this.replace(input, existing);
	}

	/**
	 * limit(n) and startAfter(the cursor's document as it is now); the cursor is the path of the
	 * page's last document, given whenever the page is full. A cursor whose document was removed is
	 * ignored (paging starts again); one whose document lost an orderBy field fails.
	 * @param query The query.
	 * @returns The page.
	 */
	public override page(query: IQuery): IPage {
		const present = (s: IStored): boolean =>
			query.sorts.every(k => s.data[k.property] !== undefined);
		const ordered = this.ordered(query).filter(present);
		let start = 0;
		if (Is.stringValue(query.cursor)) {
			const doc = this.byId(query.cursor.slice(query.cursor.lastIndexOf("/") + 1));
			if (doc) {
				if (!present(doc)) {
					this.fail(
						"cursor document lacks an orderBy field",
						"startAfter(snapshot): the snapshot must contain values for all orderBy() fields"
					);
				}
				start = this.resumeAfter(ordered, query.sorts, this.positionOf(doc, query.sorts));
			}
		}
		const page = ordered.slice(start, start + query.size);
		const last = page[page.length - 1];
		return {
			entities: this.entities(page, query.projection),
			cursor:
				page.length === query.size
					? `${this.options.entitySchema}/${String(last.data[this.primary])}`
					: undefined
		};
	}

	/**
	 * The connector ANDs every group; undefined is no Firestore value; In takes 1 to 30 values.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 * @param groups Its groups.
	 */
	protected override checkComparisons(
		condition: Condition,
		all: IComparison[],
		groups: IGroup[]
	): void {
		if (groups.some(g => g.logicalOperator === LogicalOperator.Or)) {
			this.fail("Or condition group", "the connector ignores logicalOperator and ANDs every group");
		}
		for (const c of all) {
			if (c.value === undefined) {
				this.fail(
					`condition on ${c.property} with an undefined value`,
					'Cannot use "undefined" as a Firestore value'
				);
			}
			if (
				c.comparison === ComparisonOperator.In &&
				(!Array.isArray(c.value) || c.value.length === 0 || c.value.length > 30)
			) {
				this.fail("In needs an array of 1 to 30 values", "Firestore's in filter");
			}
		}
	}

	/**
	 * Refuse undefined anywhere (the connector does not set ignoreUndefinedProperties) and an array
	 * directly inside an array.
	 * @param value The value.
	 * @param path The field path.
	 * @param inArray Whether the value is an array element.
	 */
	private checkValue(value: unknown, path: string, inArray: boolean): void {
		if (value === undefined) {
			this.fail(
				`undefined value in field ${path}`,
				`Cannot use "undefined" as a Firestore value (found in field "${path}")`
			);
		}
		if (Array.isArray(value)) {
			if (inArray) {
				this.fail(`array inside an array in field ${path}`, "Firestore: Cannot have nested arrays");
			}
			value.forEach((v, i) => this.checkValue(v, `${path}.${i}`, true));
			return;
		}
		if (value !== null && typeof value === "object" && !(value instanceof Date)) {
			for (const [k, v] of Object.entries(value)) {
				this.checkValue(v, path ? `${path}.${k}` : k, false);
			}
		}
	}
}
