// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * Where a held task is in its life on this instance (HeldTasks changes it, asserting each step):
 * - "waiting": claimed by fetch and not started; the record keeps the task for claim to hand
 *   out, and unclaim, the local queue's time to live or close give it back;
 * - "running": handed out to run; the heartbeat renews its lease;
 * - "lost": running, but its lease was found gone (expired and taken by another node, or the row
 *   removed elsewhere): no longer renewed, and its settle is fenced out without a second warning;
 * - "settling": its outcome is being written; the heartbeat does not take the lease the settle
 *   clears for a lost one, and a failed write returns it to where it was;
 * - "removed": removed through this instance while running or settling: its settle writes nothing.
 */
export type HeldPhase = "waiting" | "running" | "lost" | "settling" | "removed";
