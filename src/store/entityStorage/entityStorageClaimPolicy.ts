// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IClaimPolicy } from "../../contracts/IClaimPolicy.js";

/**
 * How the entity-storage source claims: fetch only reads, and each task is claimed on its own
 * (re-read and written under a per-task lock) when it starts. One instance owns the store, so
 * the scheduler queues what it makes due itself and holds a slot until the outcome is recorded.
 */
export const ENTITY_STORAGE_CLAIM_POLICY: IClaimPolicy = {
	fetchClaims: false,
	fetchesOverlap: false,
	givesBackUnrun: false,
	fetchedIsNewest: false,
	dueNowIsFetched: false,
	freesSlotBeforeRecord: false,
	serialNextIsFetched: false,
	sharesRateLimit: false
};
