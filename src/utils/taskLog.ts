// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError, type IError } from "@twin.org/core";
import type { ILoggingComponent, LogLevel } from "@twin.org/logging-models";

/**
 * Logging that is silent when no logging component is configured and never throws: a logger
 * that fails must not stop task processing. Messages are keys in locales/en.json.
 */
export class TaskLog {
	/**
	 * Create a new TaskLog.
	 * @param source The class name logged as the source.
	 * @param logging The logging component, if any.
	 */
	constructor(
		private readonly source: string,
		private readonly logging: ILoggingComponent | undefined
	) {}

	/**
	 * Is a logging component configured.
	 * @returns True if entries are written.
	 */
	public get enabled(): boolean {
		return this.logging !== undefined;
	}

	/**
	 * Log an entry.
	 * @param level The level.
	 * @param message The message key.
	 * @param data Data for the message.
	 * @param error An error to attach.
	 */
	public log(
		level: LogLevel,
		message: string,
		data?: { [key: string]: unknown },
		error?: unknown
	): void {
		if (!this.logging) {
			return;
		}
		const entry = {
			level,
			source: this.source,
			ts: Date.now(),
			message,
			data,
			error: error === undefined ? undefined : (toError(error) as IError)
		};
		try {
			this.logging.log(entry).catch(() => {});
		} catch {
			// A logger that throws synchronously is ignored too.
		}
	}
}

/**
 * Describe an error for the log.
 * @param error What was thrown.
 * @returns The IError.
 */
function toError(error: unknown): IError {
	return BaseError.fromError(error).toJsonObject();
}
