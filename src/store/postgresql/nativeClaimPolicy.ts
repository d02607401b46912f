// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IClaimPolicy } from "../../contracts/IClaimPolicy.js";

/**
 * How the native PostgreSQL source claims: fetch claims a batch atomically for this instance
 * (leased until settled or given back), so what is queued here is already this instance's, a
 * task made due anywhere goes to whichever instance fetches it first, and a rate limit is
 * counted in the database for every instance.
 */
export const NATIVE_CLAIM_POLICY: IClaimPolicy = {
	fetchClaims: true,
	fetchesOverlap: true,
	givesBackUnrun: true,
	fetchedIsNewest: true,
	dueNowIsFetched: true,
	freesSlotBeforeRecord: true,
	serialNextIsFetched: true,
	sharesRateLimit: true
};
