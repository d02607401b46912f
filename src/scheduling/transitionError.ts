// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { GeneralError } from "@twin.org/core";

/**
 * The error of a state change that the scheduling code never makes: a bug here, not a fault of
 * the caller or of storage.
 * @param owner What changed state (the scheduler, a type's queue).
 * @param from The state it was in.
 * @param to The state it was asked to take.
 * @returns The error, to throw.
 */
export function unexpectedTransition(owner: string, from: string, to: string): GeneralError {
	return new GeneralError("Scheduler", "unexpectedTransition", { owner, from, to });
}
