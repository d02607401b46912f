// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import type { IBackgroundTask } from "@twin.org/background-task-models";
import type { IResolvedConfig } from "../config/settings.js";
import type { IRegisteredHandler } from "../contracts/schedulerModels.js";
import type { IHandlerOptions } from "../models/IHandlerOptions.js";

/**
 * A handler as the scheduler registers it: registerHandler's valid arguments with the config's
 * defaults applied (a serial type runs one task at a time).
 * @param config The resolved config.
 * @param module The module.
 * @param method The method.
 * @param stateChangeCallback The callback.
 * @param options The per-type options.
 * @returns The handler.
 */
export function handlerSettings<T, U>(
	config: Pick<IResolvedConfig, "concurrency" | "taskTimeout">,
	module: string,
	method: string,
	stateChangeCallback: ((task: IBackgroundTask<T, U>) => Promise<void>) | undefined,
	options: IHandlerOptions | undefined
): IRegisteredHandler {
	return {
		module,
		method,
		stateChangeCallback: stateChangeCallback as (task: IBackgroundTask) => Promise<void>,
		concurrency: options?.serial ? 1 : (options?.concurrency ?? config.concurrency),
		timeout: options?.timeout ?? config.taskTimeout,
		serial: options?.serial ?? false,
		rateLimit: options?.rateLimit
			? { max: options.rateLimit.max, per: options.rateLimit.per }
			: undefined
	};
}
