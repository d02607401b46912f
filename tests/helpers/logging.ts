// Recording loggers for the tests that check what the connector logs: a logging connector in
// LoggingConnectorFactory (what the original package and a TWIN engine use, named by
// loggingConnectorType) or a logging component in ComponentFactory (named by loggingComponentType).
import { ComponentFactory } from "@twin.org/core";
import {
	LoggingConnectorFactory,
	type ILogEntry,
	type ILoggingComponent,
	type ILoggingConnector
} from "@twin.org/logging-models";

let loggerCount = 0;

/**
 * A recording logger, registered under a unique name.
 */
export interface IRecordingLogger {
	/**
	 * The name it is registered under.
	 */
	name: string;

	/**
	 * The entries it received, in order.
	 */
	entries: ILogEntry[];
}

/**
 * Register a logging connector in LoggingConnectorFactory that records entries.
 * @param options How it behaves.
 * @param options.fail Throw on every log call (after recording the entry).
 * @param options.name The name to register it under; a unique one when absent.
 * @param options.onEntry Called with each entry as it is logged.
 * @returns Its registered name and the entries it received.
 */
export function registerLoggingConnector(
	options: { fail?: boolean; name?: string; onEntry?: (entry: ILogEntry) => void } = {}
): IRecordingLogger {
	const name = options.name ?? `test-logging-connector-${++loggerCount}`;
	const entries: ILogEntry[] = [];
	const logger: ILoggingConnector = {
		CLASS_NAME: "RecordingLoggingConnector",
		log: async entry => {
			entries.push(entry);
			options.onEntry?.(entry);
			if (options.fail) {
				throw new Error("the logger is broken");
			}
		}
	};
	LoggingConnectorFactory.register(name, () => logger);
	return { name, entries };
}

/**
 * Register a logging component in ComponentFactory that records entries.
 * @param fail Throw on every log call (after recording the entry).
 * @returns Its registered name and the entries it received.
 */
export function registerLoggingComponent(fail = false): IRecordingLogger {
	const name = `test-logging-component-${++loggerCount}`;
	const entries: ILogEntry[] = [];
	const logger: ILoggingComponent = {
		CLASS_NAME: "RecordingLoggingComponent",
		log: async entry => {
			entries.push(entry);
			if (fail) {
				throw new Error("the logger is broken");
			}
		},
		query: async () => ({ entities: [] })
	};
	ComponentFactory.register(name, () => logger);
	return { name, entries };
}
