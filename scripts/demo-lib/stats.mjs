// Per-type statistics of a demo run, fed by the connector's state-change callbacks, and the summary
// table printed at the end.

/**
 * Statistics of one task type.
 */
export class TypeStats {
	/**
	 * @param {string} type The task type.
	 * @param {number} concurrency The type's concurrency.
	 * @param {number} runStart When the run started, epoch ms.
	 */
	constructor(type, concurrency, runStart) {
		this.type = type;
		this.concurrency = concurrency;
		this.runStart = runStart;
		/** Tasks this run is responsible for: created now or resumed from a previous run. */
		this.total = 0;
		/** Of which resumed from a previous run. */
		this.resumed = 0;
		this.success = 0;
		this.failed = 0;
		this.cancelled = 0;
		/** Attempts that failed and were scheduled again. */
		this.retries = 0;
		/** Attempts running now. */
		this.running = 0;
		/** Start latency (first start - creation) of tasks created in this run, ms. */
		this.latencies = [];
		/** When the last task of the type finished, epoch ms. */
		this.lastFinish = undefined;
		/** @type {Set<string>} Tasks seen starting, so a retry's start is not a first start. */
		this.started = new Set();
	}

	/**
	 * Tasks in a final state.
	 * @returns {number} The count.
	 */
	get finished() {
		return this.success + this.failed + this.cancelled;
	}

	/**
	 * Record a state change.
	 * @param {{ id: string, status: string, dateCreated: string }} task The task as the callback got it.
	 * @param {number} now The time, epoch ms.
	 */
	record(task, now) {
		switch (task.status) {
			case "processing": {
				this.running++;
				if (!this.started.has(task.id)) {
					this.started.add(task.id);
					const created = Date.parse(task.dateCreated);
					// Resumed tasks were created by an earlier run: their wait includes the downtime.
					if (created >= this.runStart) {
						this.latencies.push(now - created);
					}
				}
				break;
			}
			case "pending":
				this.running--;
				this.retries++;
				break;
			case "success":
			case "failed":
			case "cancelled":
				this.running--;
				this[task.status]++;
				this.lastFinish = now;
				break;
			default:
				break;
		}
	}
}

/**
 * A percentile of a list of numbers (nearest rank).
 * @param {number[]} values The values.
 * @param {number} p The percentile, 0 to 100.
 * @returns {number | undefined} The value, undefined for an empty list.
 */
export function percentile(values, p) {
	if (values.length === 0) {
		return undefined;
	}
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Format milliseconds for the table.
 * @param {number | undefined} ms The duration.
 * @returns {string} The text.
 */
export function duration(ms) {
	if (ms === undefined) {
		return "-";
	}
	return ms < 10000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Throughput of finished tasks over the run up to the last finish.
 * @param {number} finished Tasks finished.
 * @param {number} runStart The run start.
 * @param {number | undefined} lastFinish The last finish.
 * @returns {string} Tasks a second.
 */
function throughput(finished, runStart, lastFinish) {
	if (finished === 0 || lastFinish === undefined) {
		return "-";
	}
	return (finished / (Math.max(1, lastFinish - runStart) / 1000)).toFixed(1);
}

/**
 * The summary table: per type, counts by final status, unfinished, retries, throughput and p50 / p99
 * start latency, plus a total row.
 * @param {TypeStats[]} stats The stats of each type.
 * @param {{ [type: string]: number }} unfinished Tasks per type still pending or processing in storage.
 * @returns {string} The table, lines joined with newlines.
 */
export function summaryTable(stats, unfinished) {
	const header = [
		"type",
		"conc",
		"tasks",
		"success",
		"failed",
		"unfinished",
		"retries",
		"tasks/s",
		"p50 start",
		"p99 start"
	];
	const rows = stats.map(s => [
		s.type,
		String(s.concurrency),
		String(s.total),
		String(s.success),
		String(s.failed),
		String(unfinished[s.type] ?? 0),
		String(s.retries),
		throughput(s.finished, s.runStart, s.lastFinish),
		duration(percentile(s.latencies, 50)),
		duration(percentile(s.latencies, 99))
	]);
	const sum = key => stats.reduce((total, s) => total + s[key], 0);
	const lastFinish = Math.max(...stats.map(s => s.lastFinish ?? -Infinity));
	const allLatencies = stats.flatMap(s => s.latencies);
	rows.push([
		"all",
		"",
		String(sum("total")),
		String(sum("success")),
		String(sum("failed")),
		String(Object.values(unfinished).reduce((a, b) => a + b, 0)),
		String(sum("retries")),
		throughput(
			sum("finished"),
			stats[0]?.runStart ?? 0,
			Number.isFinite(lastFinish) ? lastFinish : undefined
		),
		duration(percentile(allLatencies, 50)),
		duration(percentile(allLatencies, 99))
	]);
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
	const line = cells =>
		cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
	return [line(header), widths.map(w => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
