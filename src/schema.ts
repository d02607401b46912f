// Copyright 2024 IOTA Stiftung, 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { EntitySchemaFactory, EntitySchemaHelper } from "@twin.org/entity";
import { nameof } from "@twin.org/nameof";
import { BackgroundTask } from "./domain/backgroundTask.js";

/**
 * Register the entity schemas with the EntitySchemaFactory, so that storage connectors can be
 * created for `BackgroundTask`. Call it once before constructing the storage connector.
 */
export function initSchema(): void {
	EntitySchemaFactory.register(nameof<BackgroundTask>(), () =>
		EntitySchemaHelper.getSchema(BackgroundTask)
	);
}
