// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { BaseError, type IError } from "@twin.org/core";
import type { ILogEntry, LogLevel } from "@twin.org/logging-models";

/**
 * What entries are written to: a logging connector (what the original package and the TWIN
 * engine use) or a logging component; both take an ILogEntry.
 */
export interface ILogTarget {
	/**
	 * Write an entry.
	 * @param logEntry The entry.
	 * @returns Nothing.
	 */
	log(logEntry: ILogEntry): Promise<unknown>;
}

/**
 * Logging that is silent when no logging connector is configured and never throws: a logger
 * that fails must not stop task processing. Messages are keys in locales/en.json.
 */
export class TaskLog {
	/**
	 * Create a new TaskLog.
	 * @param source The class name logged as the source.
	 * @param logging The logging connector or component, if any.
	 */
	constructor(
		private readonly source: string,
		private readonly logging: ILogTarget | undefined
	) {}

	/**
	 * Is a logging target configured.
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
		// The original's entries: level, source, ts, message, data; an error only when there is one.
		const entry: ILogEntry = { level, source: this.source, ts: Date.now(), message, data };
		if (error !== undefined) {
			entry.error = toError(error);
		}
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
