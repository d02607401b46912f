// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Aggregation of per-run results into median/min/max, target checks and the printed table; and
// the scaling of task counts by --scale.

/**
 * Median, min and max of samples (NaN-free).
 * @param {number[]} values The samples.
 * @returns {{ median: number, min: number, max: number, n: number }} The summary.
 */
export function summarize(values) {
	const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b);
	const n = sorted.length;
	if (n === 0) {
		return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n };
	}
	const mid = Math.floor(n / 2);
	const median = n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
	return { median, min: sorted[0], max: sorted[n - 1], n };
}

/**
 * Per-job aggregates of a benchmark invocation.
 */
export class Aggregates {
	/**
	 * Create from the runs of each job.
	 * @param {Map<string, { runs: object[] }>} jobs Runs per job id.
	 */
	constructor(jobs) {
		this.jobs = jobs;
	}

	/**
	 * The samples of a metric of a job, one per successful run.
	 * @param {string} job The job id.
	 * @param {string} key The metric key.
	 * @returns {number[]} The samples.
	 */
	samples(job, key) {
		return (this.jobs.get(job)?.runs ?? []).filter(r => r.ok).map(r => r.metrics?.[key]);
	}

	/**
	 * The summary of a metric.
	 * @param {string} job The job id.
	 * @param {string} key The metric key.
	 * @returns {{ median: number, min: number, max: number, n: number }} The summary.
	 */
	summary(job, key) {
		return summarize(this.samples(job, key));
	}

	/**
	 * The median of a metric.
	 * @param {string} job The job id.
	 * @param {string} key The metric key.
	 * @returns {number} The median.
	 */
	median(job, key) {
		return this.summary(job, key).median;
	}
}

/**
 * Evaluate a row: its summary and whether it meets its target.
 * @param {object} row The row definition.
 * @param {Aggregates} agg The aggregates.
 * @returns {object} The evaluated row.
 */
export function evaluateRow(row, agg) {
	let summary;
	if (row.derive) {
		const value = row.derive(agg);
		summary = { median: value, min: value, max: value, n: 1 };
	} else {
		summary = agg.summary(row.job, row.key);
	}
	const target = row.target;
	let pass;
	let targetLabel = "";
	if (target) {
		if (target.op === "exits") {
			const runs = agg.jobs.get(row.job)?.runs ?? [];
			pass = runs.length > 0 && runs.every(r => r.exitedOnOwn);
			targetLabel = target.label;
		} else {
			// Judged on the median; NaN (no successful run) fails.
			pass = target.op === ">=" ? summary.median >= target.value : summary.median <= target.value;
			targetLabel = target.label ?? `${target.op} ${formatValue(target.value, row.unit)}`;
		}
	}
	return {
		metric: row.metric,
		unit: row.unit,
		median: round(summary.median),
		min: round(summary.min),
		max: round(summary.max),
		runs: summary.n,
		target: targetLabel || undefined,
		pass
	};
}

/**
 * Round for the JSON output.
 * @param {number} value The value.
 * @returns {number | null} Rounded to 4 significant digits (integers kept), null for NaN.
 */
export function round(value) {
	if (!Number.isFinite(value)) {
		return null;
	}
	if (Math.abs(value) >= 1000) {
		return Math.round(value);
	}
	return Number(value.toPrecision(4));
}

/**
 * Format a value for the table.
 * @param {number | null} value The value.
 * @param {string} unit The unit.
 * @returns {string} The text.
 */
export function formatValue(value, unit) {
	if (value === null || value === undefined || !Number.isFinite(value)) {
		return "n/a";
	}
	switch (unit) {
		case "tasks/s":
			return `${Math.round(value).toLocaleString("en-US")}/s`;
		case "ms":
			return `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`;
		case "us":
			return `${value.toFixed(1)} us`;
		case "%":
			return `${value.toFixed(0)}%`;
		case "ns":
			return `${value.toFixed(1)} ns`;
		case "MB":
			return `${value.toFixed(1)} MB`;
		case "ratio":
			return value.toFixed(2);
		case "calls":
			return value.toFixed(3);
		default:
			return String(Number(value.toPrecision(4)));
	}
}

/**
 * Render rows as a fixed-width text table.
 * @param {string[]} header The header cells.
 * @param {string[][]} rows The body.
 * @returns {string} The table.
 */
export function renderTable(header, rows) {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
	const line = cells => cells.map((c, i) => c.padEnd(widths[i])).join(" | ");
	return [line(header), widths.map(w => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}

/**
 * Scale a task count.
 * @param {number} base The count at scale 1.
 * @param {number} scale The scale factor.
 * @param {number} min The smallest count.
 * @returns {number} The count.
 */
export function count(base, scale, min) {
	return Math.max(min, Math.round(base * scale));
}
