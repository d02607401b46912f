// Value helpers the core and the profiles share: equality, paths, hashes, cursors, copies.
import {
	StrictRuleError,
	type Condition,
	type Data,
	type IComparison,
	type IGroup,
	type IStored,
	type StrictProfile
} from "./types.js";

/**
 * Deep equality of stored values.
 * @param a The first.
 * @param b The second.
 * @returns True when equal.
 */
export function valueEquals(a: unknown, b: unknown): boolean {
	if (a === b) {
		return true;
	}
	if (a instanceof Date && b instanceof Date) {
		return a.getTime() === b.getTime();
	}
	if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
		return JSON.stringify(a) === JSON.stringify(b);
	}
	return false;
}

/**
 * Whether a record holds every property-value pair of a get, set or remove condition list.
 * @param data The record.
 * @param conditions The conditions.
 * @returns True when all match.
 */
export function matchesAll(
	data: Data,
	conditions?: { property: unknown; value: unknown }[]
): boolean {
	return (conditions ?? []).every(c => valueEquals(data[c.property as string], c.value));
}

/**
 * Read a property by a dotted path.
 * @param data The record.
 * @param path The path.
 * @returns The value.
 */
export function propertyGet(data: Data, path: string): unknown {
	let current: unknown = data;
	for (const part of path.split(".")) {
		if (current === null || typeof current !== "object") {
			return undefined;
		}
		current = (current as Data)[part];
	}
	return current;
}

/**
 * Copies of the named values a record holds (undefined ones left out).
 * @param data The record.
 * @param names The names.
 * @returns The copies.
 */
export function pick(data: Data, names: string[]): Data {
	const out: Data = {};
	for (const n of names) {
		if (n in data && data[n] !== undefined) {
			out[n] = structuredClone(data[n]);
		}
	}
	return out;
}

/**
 * Compare two strings by code unit.
 * @param a The first.
 * @param b The second.
 * @returns -1, 0 or 1.
 */
export function compareText(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether a value fits a SQL/CQL INT column.
 * @param value The value.
 * @returns True when it is a 32-bit integer.
 */
export function isInt32(value: unknown): boolean {
	return (
		Number.isInteger(value) && (value as number) <= 2147483647 && (value as number) >= -2147483648
	);
}

/**
 * The comparisons of a condition, flattened.
 * @param condition The condition.
 * @returns The comparisons.
 */
export function flatten(condition: Condition): IComparison[] {
	return "conditions" in condition ? condition.conditions.flatMap(flatten) : [condition];
}

/**
 * The groups of a condition, outermost first.
 * @param condition The condition.
 * @returns The groups.
 */
export function groupsOf(condition: Condition): IGroup[] {
	return "conditions" in condition ? [condition, ...condition.conditions.flatMap(groupsOf)] : [];
}

/**
 * A 32-bit FNV-1a hash (stands for a partition token or a per-query tie order).
 * @param text The text.
 * @returns The hash.
 */
export function hash(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h;
}

/**
 * Encode a keyset position as an opaque cursor.
 * @param position The position.
 * @returns The cursor.
 */
export function encodeCursor(position: IStored): string {
	return Buffer.from(JSON.stringify(position), "utf8").toString("base64");
}

/**
 * Decode a keyset cursor.
 * @param profile The profile.
 * @param cursor The cursor.
 * @returns The position.
 */
export function decodeCursor(profile: StrictProfile, cursor: string): IStored {
	try {
		return JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as IStored;
	} catch {
		throw new StrictRuleError(profile, "cursor from another query or store");
	}
}
