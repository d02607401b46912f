// The core of the strict double: the in-memory records, copies out and paging, and the hooks where
// a profile adds its connector's rules and quirks (the defaults are what most connectors do).
import { ComparisonOperator } from "@twin.org/entity";
import { StrictEvaluator } from "./evaluate.js";
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
import { flatten, groupsOf, pick } from "./values.js";

/**
 * The records of one double and the rules of its profile.
 */
export abstract class StrictStore extends StrictEvaluator {
	/**
	 * The stored records, in insertion order.
	 */
	public records: IStored[] = [];

	/**
	 * What the connector says to NotIncludes, when it refuses it.
	 */
	protected readonly notIncludes?: string;

	/**
	 * Whether sort keys and projections must name schema properties.
	 */
	protected readonly schemaNamesOnly: boolean = true;

	/**
	 * The last insertion sequence.
	 */
	private _seq = 0;

	/**
	 * The record of an id (the first one on ScyllaDB).
	 * @param id The id.
	 * @returns The record.
	 */
	public byId(id: string): IStored | undefined {
		return this.records.find(s => s.data[this.primary] === id);
	}

	// ---- hooks: rules ------------------------------------------------------------------------

	/**
	 * Check that a set, get or remove may carry conditions.
	 * @param operation The operation.
	 */
	public checkOperationConditions(operation: "set" | "get" | "remove"): void {}

	/**
	 * Check the sort keys.
	 * @param raw The sort argument as given.
	 * @param sorts The sort keys.
	 * @param condition The condition.
	 */
	public checkSort(raw: unknown[] | undefined, sorts: ISortKey[], condition?: Condition): void {
		if (sorts.length === 0) {
			return;
		}
		for (const s of sorts) {
			if (this.schemaNamesOnly && this.schemaProperty(s.property) === undefined) {
				this.fail(`sort on ${s.property}, not a schema property`);
			}
		}
		this.checkSortKeys(sorts, condition);
	}

	/**
	 * Check a condition.
	 * @param condition The condition.
	 * @param sorts The sort keys.
	 */
	public checkCondition(condition: Condition, sorts: ISortKey[]): void {
		const all = flatten(condition);
		if (this.notIncludes && all.some(c => c.comparison === ComparisonOperator.NotIncludes)) {
			this.fail("NotIncludes condition", this.notIncludes);
		}
		this.checkComparisons(condition, all, groupsOf(condition), sorts);
	}

	/**
	 * Check a projection.
	 * @param projection The properties.
	 */
	public checkProjection(projection: string[]): void {
		for (const p of projection) {
			this.checkProjected(p);
			if (this.schemaNamesOnly && this.schemaProperty(p) === undefined) {
				this.fail(`projection of ${p}, not a schema property`);
			}
		}
	}

	/**
	 * The profile's sort rules, on schema properties.
	 * @param sorts The sort keys, at least one.
	 * @param condition The condition.
	 */
	protected checkSortKeys(sorts: ISortKey[], condition?: Condition): void {}

	/**
	 * The profile's condition rules.
	 * @param condition The condition.
	 * @param all Its comparisons.
	 * @param groups Its groups, outermost first.
	 * @param sorts The sort keys.
	 */
	protected checkComparisons(
		condition: Condition,
		all: IComparison[],
		groups: IGroup[],
		sorts: ISortKey[]
	): void {}

	/**
	 * The profile's rule for one projected name.
	 * @param name The name.
	 */
	protected checkProjected(name: string): void {}

	// ---- hooks: writes and reads ---------------------------------------------------------------

	/**
	 * Store an entity (a copy): by default a full replace.
	 * @param input The entity.
	 * @param existing The record of its id.
	 */
	public write(input: Data, existing: IStored | undefined): void {
		this.replace(input, existing);
	}

	/**
	 * The record a get by id or secondary index returns among the matches.
	 * @param matches The matching records.
	 * @param bySecondary Whether the get named a secondary index.
	 * @returns The record.
	 */
	public pickOne(matches: IStored[], bySecondary: boolean): IStored | undefined {
		return matches[0];
	}

	/**
	 * A record as the connector hands it back.
	 * @param stored The record.
	 * @param projection The properties asked for.
	 * @returns A fresh entity.
	 */
	public toEntity(stored: IStored, projection: string[] | undefined): Data {
		return projection ? pick(stored.data, projection) : structuredClone(stored.data);
	}

	/**
	 * A page of a query: by default ORDER BY ... LIMIT n OFFSET o, the cursor being the next offset
	 * whenever the page is full (so the next page may be empty).
	 * @param query The query.
	 * @returns The page.
	 */
	public page(query: IQuery): IPage {
		const offset = query.cursor ? Number(query.cursor) : 0;
		const page = this.ordered(query, query.queryNumber).slice(offset, offset + query.size);
		return {
			entities: this.entities(page, query.projection),
			cursor: page.length === query.size ? String(offset + query.size) : undefined
		};
	}

	// ---- core ----------------------------------------------------------------------------------

	/**
	 * Insert or replace a record.
	 * @param data The record.
	 * @param existing The record it replaces.
	 */
	protected replace(data: Data, existing: IStored | undefined): void {
		if (existing) {
			existing.data = data;
		} else {
			this.insert(data);
		}
	}

	/**
	 * Insert a record.
	 * @param data The record.
	 */
	protected insert(data: Data): void {
		this.records.push({ seq: ++this._seq, data });
	}

	/**
	 * Records as the connector hands them back.
	 * @param records The records.
	 * @param projection The properties asked for.
	 * @returns The entities.
	 */
	protected entities(records: IStored[], projection: string[] | undefined): Data[] {
		return records.map(s => this.toEntity(s, projection));
	}

	/**
	 * The records that match a query's condition, in its order.
	 * @param query The query.
	 * @param queryNumber The query number for the order of ties (0 for a fixed order).
	 * @returns The records.
	 */
	protected ordered(query: IQuery, queryNumber = 0): IStored[] {
		return this.order(
			this.records.filter(s => this.matches(s.data, query.condition)),
			query.sorts,
			queryNumber
		);
	}

	/**
	 * The position of a record for a keyset cursor: its sort values, its id and clustering key,
	 * and its sequence.
	 * @param s The record.
	 * @param sorts The sort keys.
	 * @returns The position.
	 */
	protected positionOf(s: IStored, sorts: ISortKey[]): IStored {
		const data: Data = { [this.primary]: s.data[this.primary], threadId: s.data.threadId };
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
	 */
	protected resumeAfter(ordered: IStored[], sorts: ISortKey[], position: IStored): number {
		// The position sorts among the records; what follows it (other than itself) is next.
		const probe = this.order([...ordered, { ...position }], sorts, 0);
		const next = probe[probe.findIndex(s => s.data === position.data) + 1];
		return next === undefined ? ordered.length : ordered.indexOf(next);
	}
}
