// A fault-injecting IEntityStorageConnector for the reliability tests. It wraps a real connector
// and, while enabled, makes calls fail (chosen calls, or a seeded random share of them), adds
// latency, and lets a test run code at the moment a call is made (to set up exact races).
//
// Two kinds of failure, because real storage has both:
// - "before": the call throws and the inner connector is never called (nothing changed);
// - "after": the inner call completes (the write is committed) and the call then throws anyway,
//   like a database connection that drops after the commit. The caller cannot tell which happened.
import type { IEntitySchema, EntityCondition, SortDirection } from "@twin.org/entity";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";

/**
 * The storage methods that can be made to fail.
 */
export type StorageMethod = "get" | "set" | "remove" | "query";

/**
 * One call seen by the wrapper.
 */
export interface IStorageCall {
	/**
	 * The method.
	 */
	method: StorageMethod;

	/**
	 * The number of the call, from 1, across all methods.
	 */
	index: number;

	/**
	 * The arguments.
	 */
	args: unknown[];
}

/**
 * When a failure is raised relative to the inner call.
 */
export type FaultTiming = "before" | "after";

/**
 * Fault options; every field optional.
 */
export interface IFaultOptions {
	/**
	 * Share of calls (0..1) that fail, drawn from the seeded generator.
	 */
	failRate?: number;

	/**
	 * The methods failRate applies to; default all.
	 */
	methods?: StorageMethod[];

	/**
	 * Fail exactly the calls this returns a timing for ("before" or "after"), or true for "before".
	 */
	failOn?: (call: IStorageCall) => FaultTiming | boolean | undefined;

	/**
	 * Share (0..1) of the random failures raised after the inner call completed; default 0.
	 */
	afterShare?: number;

	/**
	 * Latency added to each call, ms: a fixed value or [min, max] drawn from the generator.
	 */
	latencyMs?: number | [number, number];

	/**
	 * Called when a call starts (before latency and faults): lets a test act at an exact point.
	 * The call waits for the returned promise.
	 */
	onCall?: (call: IStorageCall) => void | Promise<void>;

	/**
	 * Called when the inner call has completed, before its result (or an "after" fault) reaches the
	 * caller: lets a test act between a read and the caller's use of it. The call waits for it.
	 */
	afterCall?: (call: IStorageCall) => void | Promise<void>;
}

/**
 * The error thrown for an injected fault.
 */
export class InjectedStorageFault extends Error {
	/**
	 * Create the error.
	 * @param call The call that failed.
	 * @param timing Before or after the inner call.
	 */
	constructor(
		public readonly call: IStorageCall,
		public readonly timing: FaultTiming
	) {
		super(`Injected storage fault (${timing}) on ${call.method} call #${call.index}`);
		this.name = "InjectedStorageFault";
	}
}

/**
 * A small seeded generator (mulberry32): the same seed gives the same sequence of faults for the
 * same sequence of calls.
 * @param seed The seed.
 * @returns A function returning numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/**
 * The fault-injecting wrapper.
 */
export class FaultyStorage<T = unknown> implements IEntityStorageConnector<T> {
	/**
	 * Runtime name for the class.
	 */
	public readonly CLASS_NAME: string = "FaultyStorage";

	/**
	 * Faults and latency are injected only while enabled; the onCall/afterCall hooks always run.
	 */
	public enabled = true;

	/**
	 * Calls seen, by method, while enabled or not.
	 */
	public readonly calls: { [method in StorageMethod]: number } = {
		get: 0,
		set: 0,
		remove: 0,
		query: 0
	};

	/**
	 * Faults injected, by timing.
	 */
	public readonly faults: { [timing in FaultTiming]: number } = { before: 0, after: 0 };

	/**
	 * The fault options in force.
	 * @internal
	 */
	private _options: IFaultOptions;

	/**
	 * The seeded generator.
	 * @internal
	 */
	private readonly _random: () => number;

	/**
	 * Calls counter.
	 * @internal
	 */
	private _index = 0;

	/**
	 * Create the wrapper.
	 * @param inner The real connector.
	 * @param options The faults.
	 * @param seed The seed of the generator.
	 */
	constructor(
		public readonly inner: IEntityStorageConnector<T>,
		options: IFaultOptions = {},
		seed = 1
	) {
		this._options = options;
		this._random = seededRandom(seed);
	}

	/**
	 * Replace the fault options (the generator keeps its sequence).
	 * @param options The new options.
	 */
	public configure(options: IFaultOptions): void {
		this._options = options;
	}

	/**
	 * The total number of calls seen.
	 * @returns The count.
	 */
	public get totalCalls(): number {
		return this.calls.get + this.calls.set + this.calls.remove + this.calls.query;
	}

	/**
	 * Get the schema for the entities.
	 * @returns The schema.
	 */
	public getSchema(): IEntitySchema {
		return this.inner.getSchema();
	}

	/**
	 * Get an entity.
	 * @param id The id.
	 * @param secondaryIndex The secondary index.
	 * @param conditions The conditions.
	 * @returns The entity or undefined.
	 */
	public async get(
		id: string,
		secondaryIndex?: keyof T,
		conditions?: { property: keyof T; value: unknown }[]
	): Promise<T | undefined> {
		return this.call("get", [id, secondaryIndex, conditions], async () =>
			this.inner.get(id, secondaryIndex, conditions)
		);
	}

	/**
	 * Set an entity.
	 * @param entity The entity.
	 * @param conditions The conditions.
	 */
	public async set(entity: T, conditions?: { property: keyof T; value: unknown }[]): Promise<void> {
		return this.call("set", [entity, conditions], async () => this.inner.set(entity, conditions));
	}

	/**
	 * Remove an entity.
	 * @param id The id.
	 * @param conditions The conditions.
	 */
	public async remove(
		id: string,
		conditions?: { property: keyof T; value: unknown }[]
	): Promise<void> {
		return this.call("remove", [id, conditions], async () => this.inner.remove(id, conditions));
	}

	/**
	 * Query entities.
	 * @param conditions The conditions.
	 * @param sortProperties The sort order.
	 * @param properties The properties to return.
	 * @param cursor The cursor.
	 * @param pageSize The page size.
	 * @returns The page.
	 */
	public async query(
		conditions?: EntityCondition<T>,
		sortProperties?: { property: keyof T; sortDirection: SortDirection }[],
		properties?: (keyof T)[],
		cursor?: string,
		pageSize?: number
	): Promise<{ entities: Partial<T>[]; cursor?: string }> {
		return this.call(
			"query",
			[conditions, sortProperties, properties, cursor, pageSize],
			async () => this.inner.query(conditions, sortProperties, properties, cursor, pageSize)
		);
	}

	/**
	 * Run one call with the configured latency and faults.
	 * @param method The method.
	 * @param args The arguments.
	 * @param inner The inner call.
	 * @returns The inner call's result.
	 * @internal
	 */
	private async call<R>(
		method: StorageMethod,
		args: unknown[],
		inner: () => Promise<R>
	): Promise<R> {
		this.calls[method]++;
		const call: IStorageCall = { method, index: ++this._index, args };
		const options = this._options;
		await options.onCall?.(call);
		const latency = this.enabled ? this.latency(options) : 0;
		if (latency > 0) {
			await new Promise(resolve => setTimeout(resolve, latency));
		}
		const timing = this.enabled ? this.faultTiming(call, options) : undefined;
		if (timing === "before") {
			this.faults.before++;
			throw new InjectedStorageFault(call, timing);
		}
		const result = await inner();
		await options.afterCall?.(call);
		if (timing === "after") {
			this.faults.after++;
			throw new InjectedStorageFault(call, timing);
		}
		return result;
	}

	/**
	 * The latency of one call.
	 * @param options The options.
	 * @returns Milliseconds.
	 * @internal
	 */
	private latency(options: IFaultOptions): number {
		const latency = options.latencyMs;
		if (Array.isArray(latency)) {
			return Math.round(latency[0] + this._random() * (latency[1] - latency[0]));
		}
		return latency ?? 0;
	}

	/**
	 * Whether and when this call fails.
	 * @param call The call.
	 * @param options The options.
	 * @returns The timing, or undefined for no fault.
	 * @internal
	 */
	private faultTiming(call: IStorageCall, options: IFaultOptions): FaultTiming | undefined {
		const chosen = options.failOn?.(call);
		if (chosen) {
			return chosen === true ? "before" : chosen;
		}
		const rate = options.failRate ?? 0;
		const applies = !options.methods || options.methods.includes(call.method);
		if (rate > 0 && applies && this._random() < rate) {
			return this._random() < (options.afterShare ?? 0) ? "after" : "before";
		}
		return undefined;
	}
}
