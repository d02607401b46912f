// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { SortDirection } from "@twin.org/entity";
import type { BackgroundTask } from "../domain/backgroundTask.js";

/**
 * A page of the public query, as a task source answers it.
 */
export interface ITaskQuery {
	/**
	 * The type to match, if any.
	 */
	type?: string;

	/**
	 * The status to match, if any.
	 */
	status?: string;

	/**
	 * The property to sort by.
	 */
	sortProperty: keyof BackgroundTask;

	/**
	 * The direction.
	 */
	sortDirection: SortDirection;

	/**
	 * The cursor of the previous page.
	 */
	cursor?: string;

	/**
	 * The page size (the source's default when absent).
	 */
	pageSize?: number;
}

/**
 * A page of tasks and the cursor of the next one.
 */
export interface ITaskPage {
	/**
	 * The tasks.
	 */
	entities: BackgroundTask[];

	/**
	 * The cursor of the next page, absent after the last.
	 */
	cursor?: string;
}
