// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * The window the metrics cover, ms.
 */
const WINDOW_MS = 60_000;

/**
 * The start latencies kept: the last this many starts.
 */
const LATENCY_SAMPLES = 10_000;

/**
 * What one node measures of its own work for getStatistics(): finished tasks per second over the
 * last minute (60 one-second buckets, so recording costs the same at any rate) and the start
 * latencies of its last 10,000 starts (a ring), of which those of the last minute are reported.
 */
export class NodeMetrics {
	/**
	 * Finished tasks per one-second bucket, indexed by second modulo 60.
	 * @internal
	 */
	private readonly _finished = new Array<number>(WINDOW_MS / 1000).fill(0);

	/**
	 * The second each bucket counts, so a stale bucket is recognised and reset.
	 * @internal
	 */
	private readonly _finishedSecond = new Array<number>(WINDOW_MS / 1000).fill(-1);

	/**
	 * When each recent start happened, epoch ms (ring).
	 * @internal
	 */
	private readonly _startedAt = new Float64Array(LATENCY_SAMPLES);

	/**
	 * The latency of each recent start, ms (ring, parallel to _startedAt).
	 * @internal
	 */
	private readonly _latency = new Float64Array(LATENCY_SAMPLES);

	/**
	 * Starts recorded in all.
	 * @internal
	 */
	private _starts = 0;

	/**
	 * A handler started.
	 * @param nowMs When, epoch ms.
	 * @param dueMs When its task was due, epoch ms.
	 */
	public started(nowMs: number, dueMs: number): void {
		const i = this._starts++ % LATENCY_SAMPLES;
		this._startedAt[i] = nowMs;
		this._latency[i] = Number.isFinite(dueMs) ? Math.max(0, nowMs - dueMs) : 0;
	}

	/**
	 * A task finished (its outcome recorded).
	 * @param nowMs When, epoch ms.
	 */
	public finished(nowMs: number): void {
		const second = Math.floor(nowMs / 1000);
		const i = second % this._finished.length;
		if (this._finishedSecond[i] !== second) {
			this._finishedSecond[i] = second;
			this._finished[i] = 0;
		}
		this._finished[i]++;
	}

	/**
	 * The last minute's figures.
	 * @param nowMs The current time, epoch ms.
	 * @returns Tasks finished in the last minute and the start latency percentiles.
	 */
	public snapshot(nowMs: number): {
		completedLastMinute: number;
		startLatency: { p50?: number; p99?: number; samples: number };
	} {
		const second = Math.floor(nowMs / 1000);
		let completed = 0;
		for (let i = 0; i < this._finished.length; i++) {
			if (second - this._finishedSecond[i] < this._finished.length) {
				completed += this._finished[i];
			}
		}
		const latencies: number[] = [];
		const kept = Math.min(this._starts, LATENCY_SAMPLES);
		for (let i = 0; i < kept; i++) {
			if (nowMs - this._startedAt[i] <= WINDOW_MS) {
				latencies.push(this._latency[i]);
			}
		}
		latencies.sort((a, b) => a - b);
		return {
			completedLastMinute: completed,
			startLatency: {
				p50: percentile(latencies, 0.5),
				p99: percentile(latencies, 0.99),
				samples: latencies.length
			}
		};
	}
}

/**
 * A percentile of sorted values (nearest rank).
 * @param sorted The values, ascending.
 * @param p The percentile, 0..1.
 * @returns The value, undefined when there are none.
 */
export function percentile(sorted: number[], p: number): number | undefined {
	if (sorted.length === 0) {
		return undefined;
	}
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
