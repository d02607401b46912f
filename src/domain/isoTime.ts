// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The largest time a Date can hold, epoch ms.
 */
const MAX_DATE_MS = 8.64e15;

/**
 * The last time formatted by iso(), and its text: tasks created or settled in the same
 * millisecond share one string instead of formatting a Date each.
 */
let lastIso = { ms: Number.NaN, text: "" };

/**
 * Format epoch ms as ISO 8601.
 * @param ms The time.
 * @returns The ISO string.
 */
export function iso(ms: number): string {
	if (ms !== lastIso.ms) {
		// Clamped to the range a Date can hold (a retain or retry time read from storage may lie
		// beyond it), so formatting never throws.
		if (!(Math.abs(ms) <= MAX_DATE_MS)) {
			return new Date(ms > 0 || Number.isNaN(ms) ? MAX_DATE_MS : -MAX_DATE_MS).toISOString();
		}
		lastIso = { ms, text: new Date(ms).toISOString() };
	}
	return lastIso.text;
}
