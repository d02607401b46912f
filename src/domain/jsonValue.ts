// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Why a value cannot be stored as JSON, or undefined when it can. Rejects what JSON.stringify
 * would drop or mangle silently (functions, symbols, undefined in arrays, NaN and Infinity, Map,
 * Set, typed arrays) and what it cannot encode (bigints, cycles).
 * @param value The value.
 * @param path The property path of the value, for the message.
 * @returns The reason with its path, or undefined.
 */
export function jsonProblem(value: unknown, path: string): string | undefined {
	return visit(value, path, new Set());
}

/**
 * Check one value.
 * @param value The value.
 * @param path Its path.
 * @param ancestors The objects above it, to find cycles.
 * @returns The problem or undefined.
 */
function visit(value: unknown, path: string, ancestors: Set<object>): string | undefined {
	switch (typeof value) {
		case "string":
		case "boolean":
			return undefined;
		case "number":
			return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
		case "object":
			return value === null ? undefined : visitObject(value, path, ancestors);
		default:
			return `${path} is a ${typeof value}, which JSON cannot hold`;
	}
}

/**
 * Check an object or array.
 * @param value The object.
 * @param path Its path.
 * @param ancestors The objects above it.
 * @returns The problem or undefined.
 */
function visitObject(value: object, path: string, ancestors: Set<object>): string | undefined {
	if (ancestors.has(value)) {
		return `${path} refers back to itself (a cycle)`;
	}
	if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value)) {
		return `${path} is a ${value.constructor.name}, which JSON cannot hold`;
	}
	ancestors.add(value);
	const toJSON = (value as { toJSON?: unknown }).toJSON;
	if (typeof toJSON === "function") {
		// JSON.stringify stores what toJSON returns (a Date becomes its ISO string): check that.
		try {
			const replaced: unknown = toJSON.call(value, "");
			return replaced === undefined
				? `${path}.toJSON() returns undefined, which JSON cannot hold`
				: visit(replaced, path, ancestors);
		} catch (err) {
			return `${path}.toJSON() threw: ${err instanceof Error ? err.message : String(err)}`;
		} finally {
			ancestors.delete(value);
		}
	}
	try {
		const isArray = Array.isArray(value);
		for (const [key, item] of Object.entries(value)) {
			if (item === undefined && !isArray) {
				continue;
			}
			const problem = visit(item, isArray ? `${path}[${key}]` : `${path}.${key}`, ancestors);
			if (problem) {
				return problem;
			}
		}
		return undefined;
	} finally {
		ancestors.delete(value);
	}
}

/**
 * Whether a value is a plain object (a literal, or Object.create(null)).
 * @param value The value.
 * @returns True if so.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (typeof value !== "object" || value === null) {
		return false;
	}
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}
