// Harness of the differential suite: runs one scenario through the ORIGINAL connector
// (@twin.org/background-task-connector-entity-storage, the oracle) and through ours (src/), each
// over its own real MemoryEntityStorageConnector, and records what a caller can observe:
// - the steps: values returned by the operations, or the errors they threw;
// - every object passed to the state-change callback, deep-copied at call time with its own keys;
// - the stored rows at the end (read straight from the in-memory store);
// - the log entries with the original's message keys (start, complete, noHandler), received by a
//   capturing logging connector registered in LoggingConnectorFactory under "logging".
// Only what depends on time, on the random id or on the machine is normalised: ids are made
// deterministic by replacing RandomHelper.generate with a counter (reset before each run, so both
// runs create the same ids), ISO dates and epoch timestamps become placeholders once their format
// is checked, stacks become a placeholder (their presence is kept), and the importing file Node
// names in a module-not-found message becomes a placeholder. Relations between times that both implementations make
// deterministic (a retain or retry span, whether dateModified was moved on completion) are
// computed before the placeholders replace the times, and compared too.
// The two runs of a scenario are sequential: the id generator and the "logging" registration are
// process-wide.
import { rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as original from "@twin.org/background-task-connector-entity-storage";
import type { IBackgroundTask, IBackgroundTaskConnector } from "@twin.org/background-task-models";
import { RandomHelper } from "@twin.org/core";
import { MemoryEntityStorageConnector } from "@twin.org/entity-storage-connector-memory";
import { EntityStorageConnectorFactory } from "@twin.org/entity-storage-models";
import {
	LoggingConnectorFactory,
	type ILogEntry,
	type ILoggingConnector
} from "@twin.org/logging-models";
import * as ours from "../../src/index.js";

/**
 * The two implementations.
 */
export type Impl = "original" | "ours";

/**
 * The handler fixtures of this suite, as a file URL.
 */
export const HANDLERS = new URL("../fixtures/differential-handlers.mjs", import.meta.url).href;

/**
 * A module that does not exist.
 */
export const MISSING_MODULE = new URL(
	"../fixtures/differential-no-such-module.mjs",
	import.meta.url
).href;

/**
 * The URN prefix of task ids.
 */
export const URN_PREFIX = "background-task:entity-storage:";

/**
 * The log message keys the original uses: only these entries are compared (ours may log more,
 * for faults the original does not handle).
 */
export const ORIGINAL_LOG_KEYS: readonly string[] = ["start", "complete", "noHandler"];

/**
 * How long a wait of the original's run may take before the test fails, ms.
 */
const ORIGINAL_WAIT_MS = 10000;

/**
 * How long a wait of ours may take before it is recorded as a problem and the scenario goes on, ms.
 */
const OURS_WAIT_MS = 3000;

/**
 * The ISO 8601 format both implementations write dates in.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * What the original's get() returns as dateRetainUntil for retainFor -1 (it formats -1): a
 * constant, so it is compared as it is.
 */
export const ORIGINAL_FOREVER_DATE = "1969-12-31T23:59:59.999Z";

/**
 * The placeholder of a normalised ISO date.
 */
export const ISO_PLACEHOLDER = "<iso-date>";

/**
 * The placeholder of a normalised epoch-ms timestamp.
 */
export const EPOCH_PLACEHOLDER = "<epoch-ms>";

/**
 * The placeholder of the importing file named in a module-not-found message.
 */
export const IMPORTER_PLACEHOLDER = "<importer>";

/**
 * The placeholder of a normalised stack trace.
 */
export const STACK_PLACEHOLDER = "<stack>";

// ---------------------------------------------------------------------------------------------
// Deterministic ids.

let idCounter = 0;
let realGenerate: typeof RandomHelper.generate | undefined;

/**
 * Replace RandomHelper.generate by a counter: the n-th call of a run returns bytes d1ff...n, so
 * both runs of a scenario create the same ids, in increasing order.
 */
export function installDeterministicIds(): void {
	if (realGenerate === undefined) {
		realGenerate = RandomHelper.generate;
	}
	RandomHelper.generate = (length: number): Uint8Array => {
		idCounter++;
		const bytes = new Uint8Array(length);
		bytes[0] = 0xd1;
		if (length > 1) {
			bytes[1] = 0xff;
		}
		let n = idCounter;
		for (let i = length - 1; i >= 2 && n > 0; i--) {
			bytes[i] = n & 0xff;
			n = Math.floor(n / 256);
		}
		return bytes;
	};
}

/**
 * Put the real RandomHelper.generate back.
 */
export function restoreRandomIds(): void {
	if (realGenerate !== undefined) {
		RandomHelper.generate = realGenerate;
		realGenerate = undefined;
	}
}

/**
 * The storage id the n-th generated id of a run has (from 1).
 * @param n The number.
 * @returns The 32 hex characters.
 */
export function nthId(n: number): string {
	return `d1ff${n.toString(16).padStart(28, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// Logging.

/**
 * A logging connector that keeps a copy of every entry.
 */
export class CapturingLogger implements ILoggingConnector {
	/**
	 * Runtime name for the class.
	 */
	public readonly CLASS_NAME: string = "CapturingLogger";

	/**
	 * The entries received, copied when received.
	 */
	public readonly entries: ILogEntry[] = [];

	/**
	 * Keep the entry.
	 * @param logEntry The entry.
	 */
	public async log(logEntry: ILogEntry): Promise<void> {
		this.entries.push(structuredClone(logEntry));
	}
}

// ---------------------------------------------------------------------------------------------
// Normalisation and comparison.

/**
 * A plain object.
 */
type Json = { [key: string]: unknown };

/**
 * Is the value a plain object (not an array, not null).
 * @param value The value.
 * @returns True for an object.
 */
function isObject(value: unknown): value is Json {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Replace what depends on time or on the machine by placeholders, after checking its format;
 * everything else, key order and keys with undefined values included, is kept.
 * @param value The value.
 * @param key The key the value is stored under, if any.
 * @returns The normalised copy.
 */
export function normalise(value: unknown, key?: string): unknown {
	if (typeof value === "string") {
		if (key === "stack") {
			return STACK_PLACEHOLDER;
		}
		if (ISO_DATE.test(value) && value !== ORIGINAL_FOREVER_DATE) {
			return Number.isNaN(Date.parse(value)) ? value : ISO_PLACEHOLDER;
		}
		// Node names the importing file in a module-not-found message: the original imports from
		// its eval'd worker, ours from its worker file.
		return value.replace(/ imported from [^\n]*/g, ` imported from ${IMPORTER_PLACEHOLDER}`);
	}
	if (typeof value === "number" && (key === "retainUntil" || key === "ts")) {
		return Number.isInteger(value) && value > 1e12 ? EPOCH_PLACEHOLDER : value;
	}
	if (Array.isArray(value)) {
		return value.map(v => normalise(v));
	}
	if (isObject(value)) {
		const copy: Json = {};
		for (const k of Object.keys(value)) {
			copy[k] = normalise(value[k], k);
		}
		return copy;
	}
	return value;
}

/**
 * The same object with its keys in sorted order, for comparisons where key order carries no
 * meaning (callback objects, stored rows).
 * @param value The object.
 * @returns The copy.
 */
export function sortKeys(value: Json): Json {
	const copy: Json = {};
	for (const k of Object.keys(value).sort()) {
		copy[k] = value[k];
	}
	return copy;
}

/**
 * Relations between the times of a task that both implementations make deterministic, computed
 * on the raw object before normalisation.
 * - modifiedAtCompletion: dateModified equals dateCompleted (the original leaves dateModified at
 *   the claim, which is always earlier: a handler takes at least 5 ms);
 * - modifiedAtCancel: dateModified equals dateCancelled (scenarios cancel at least 2 ms after
 *   creating);
 * - retainSpan: retainUntil (or dateRetainUntil) minus dateModified, when positive;
 * - retrySpan (callbacks only, where a retry has just been scheduled): dateNextProcess minus
 *   dateModified.
 * @param task The task-like object.
 * @param withRetrySpan Compute retrySpan.
 * @returns The relations that apply.
 */
export function timeRelations(task: Json, withRetrySpan: boolean): Json {
	const relations: Json = {};
	const modified = typeof task.dateModified === "string" ? Date.parse(task.dateModified) : NaN;
	if (typeof task.dateCompleted === "string") {
		relations.modifiedAtCompletion = task.dateModified === task.dateCompleted;
	}
	if (typeof task.dateCancelled === "string") {
		relations.modifiedAtCancel = task.dateModified === task.dateCancelled;
	}
	if (typeof task.retainUntil === "number" && task.retainUntil > 0) {
		relations.retainSpan = task.retainUntil - modified;
	} else if (
		typeof task.dateRetainUntil === "string" &&
		task.dateRetainUntil !== ORIGINAL_FOREVER_DATE
	) {
		relations.retainSpan = Date.parse(task.dateRetainUntil) - modified;
	}
	if (
		withRetrySpan &&
		task.status === "pending" &&
		task.error !== undefined &&
		typeof task.dateNextProcess === "string"
	) {
		relations.retrySpan = Date.parse(task.dateNextProcess) - modified;
	}
	return relations;
}

/**
 * Is the value a task as the connectors hand it out (returned, stored or passed to a callback).
 * @param value The value.
 * @returns True for a task.
 */
function isTaskLike(value: unknown): value is Json {
	return isObject(value) && typeof value.status === "string" && "dateCreated" in value;
}

/**
 * The relations of every task found in a value (a task, a list, a query page).
 * @param value The value.
 * @returns The relations, in the order the tasks were found.
 */
export function relationsIn(value: unknown): Json[] {
	if (isTaskLike(value)) {
		return [timeRelations(value, false)];
	}
	if (Array.isArray(value)) {
		return value.flatMap(v => relationsIn(v));
	}
	if (isObject(value) && Array.isArray(value.entities)) {
		return relationsIn(value.entities);
	}
	return [];
}

/**
 * Format a value for a difference report.
 * @param value The value.
 * @returns The text.
 */
function fmt(value: unknown): string {
	if (value === undefined) {
		return "undefined";
	}
	const text = JSON.stringify(value);
	return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * Every difference between the original's (or the expected) value and ours, as lines naming the
 * path, the original's value and ours. Object keys are compared with Object.keys, so a key whose
 * value is undefined is a key; their order is compared too when asked.
 * @param expected The original's value, or what ours is expected to show.
 * @param actual Ours.
 * @param keyOrder Compare the order of object keys.
 * @param path The path of the values.
 * @param out The lines found so far.
 * @returns The lines.
 */
export function differences(
	expected: unknown,
	actual: unknown,
	keyOrder: boolean,
	path = "",
	out: string[] = []
): string[] {
	if (Array.isArray(expected) && Array.isArray(actual)) {
		const common = Math.min(expected.length, actual.length);
		for (let i = 0; i < common; i++) {
			differences(expected[i], actual[i], keyOrder, `${path}[${i}]`, out);
		}
		for (let i = common; i < expected.length; i++) {
			out.push(`${path}[${i}]: only in original: ${fmt(expected[i])}`);
		}
		for (let i = common; i < actual.length; i++) {
			out.push(`${path}[${i}]: only in ours: ${fmt(actual[i])}`);
		}
		return out;
	}
	if (isObject(expected) && isObject(actual)) {
		const expectedKeys = Object.keys(expected);
		const actualKeys = Object.keys(actual);
		for (const k of expectedKeys) {
			if (!actualKeys.includes(k)) {
				out.push(`${path}.${k}: key only in original (value ${fmt(expected[k])}), absent in ours`);
			}
		}
		for (const k of actualKeys) {
			if (!expectedKeys.includes(k)) {
				out.push(`${path}.${k}: key absent in original, only in ours (value ${fmt(actual[k])})`);
			}
		}
		const common = expectedKeys.filter(k => actualKeys.includes(k));
		if (keyOrder) {
			const actualOrder = actualKeys.filter(k => expectedKeys.includes(k));
			if (common.join() !== actualOrder.join()) {
				out.push(
					`${path}: key order: original [${expectedKeys.join(", ")}] vs ours [${actualKeys.join(", ")}]`
				);
			}
		}
		for (const k of common) {
			differences(expected[k], actual[k], keyOrder, `${path}.${k}`, out);
		}
		return out;
	}
	if (!Object.is(expected, actual)) {
		out.push(`${path}: original ${fmt(expected)} vs ours ${fmt(actual)}`);
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// Observations.

/**
 * One observed step: an operation's return value or thrown error, or a value the scenario read.
 */
export interface IStep {
	/**
	 * What the step was.
	 */
	label: string;

	/**
	 * The normalised value, or the shape of the error thrown.
	 */
	value?: unknown;

	/**
	 * The shape of the thrown error.
	 */
	thrown?: Json;

	/**
	 * The time relations of the tasks in the value.
	 */
	relations: Json[];
}

/**
 * One call of the state-change callback.
 */
export interface ICallbackCall {
	/**
	 * The normalised deep copy made at call time: structuredClone keeps the keys whose value is
	 * undefined, so the key set is compared with the values (keys sorted: their order is not).
	 */
	task: Json;

	/**
	 * Its time relations.
	 */
	relations: Json;
}

/**
 * What a run of a scenario showed.
 */
export interface IObservation {
	/**
	 * The steps, in order.
	 */
	steps: IStep[];

	/**
	 * The state-change callback calls, in order.
	 */
	callbacks: ICallbackCall[];

	/**
	 * The stored rows at the end, sorted by id, keys sorted, keys with undefined values left out
	 * (a database row has no such keys), with their time relations.
	 */
	stored: { row: Json; relations: Json }[];

	/**
	 * The log entries with the original's message keys, in order.
	 */
	logs: Json[];

	/**
	 * What went wrong in the run itself: a wait that timed out, the scenario stopped by an error.
	 * The original's run fails instead; ours carries on, so every difference gets reported.
	 */
	problems: string[];
}

/**
 * The shape of a thrown value: what a caller can see of it.
 * @param err What was thrown.
 * @returns The shape.
 */
export function errorShape(err: unknown): Json {
	if (isObject(err)) {
		const e = err as Json & { properties?: Json };
		return {
			name: e.name,
			source: e.source,
			message: e.message,
			propertyNames: Object.keys(e.properties ?? {}),
			properties: normalise(e.properties),
			inner: normalise(e.inner)
		};
	}
	return { value: err as unknown };
}

/**
 * Options of a run.
 */
export interface IRunOptions {
	/**
	 * Config passed to both implementations (the original also gets taskInterval 1, its minimum;
	 * ours keeps its defaults otherwise).
	 */
	config?: { retryInterval?: number };
}

let storageCount = 0;

/**
 * The scratch directory of the suite: the same path in both runs (so payloads naming files are
 * equal), emptied before each run.
 */
export const SCRATCH = join(tmpdir(), `bgt-differential-${process.pid}`);

/**
 * One run of a scenario through one implementation.
 */
export class Run {
	/**
	 * The implementation.
	 */
	public readonly impl: Impl;

	/**
	 * The connector.
	 */
	public readonly connector: IBackgroundTaskConnector;

	/**
	 * Its in-memory storage.
	 */
	public readonly storage: MemoryEntityStorageConnector<ours.BackgroundTask>;

	/**
	 * The logging connector it was given.
	 */
	public readonly logger: CapturingLogger;

	/**
	 * The observation being built.
	 */
	public readonly observation: IObservation = {
		steps: [],
		callbacks: [],
		stored: [],
		logs: [],
		problems: []
	};

	/**
	 * The callback to register: records a deep copy of what it is given.
	 * @param task The task passed.
	 */
	public readonly callback = async (task: IBackgroundTask): Promise<void> => {
		const copy = structuredClone(task) as unknown as Json;
		this.observation.callbacks.push({
			task: sortKeys(normalise(copy) as Json),
			relations: timeRelations(copy, true)
		});
	};

	/**
	 * The registered storage name.
	 * @internal
	 */
	private readonly _storageType: string;

	/**
	 * Connectors to stop at the end.
	 * @internal
	 */
	private readonly _instances: IBackgroundTaskConnector[] = [];

	/**
	 * The options.
	 * @internal
	 */
	private readonly _options: IRunOptions;

	/**
	 * Set up a run: fresh ids, storage and logger, and the connector.
	 * @param impl The implementation.
	 * @param options The options.
	 */
	constructor(impl: Impl, options: IRunOptions = {}) {
		this.impl = impl;
		this._options = options;
		idCounter = 0;
		rmSync(SCRATCH, { recursive: true, force: true });
		mkdirSync(SCRATCH, { recursive: true });
		if (impl === "original") {
			original.initSchema();
		} else {
			ours.initSchema();
		}
		this._storageType = `differential-${impl}-${++storageCount}`;
		this.storage = new MemoryEntityStorageConnector<ours.BackgroundTask>({
			entitySchema: "BackgroundTask"
		});
		EntityStorageConnectorFactory.register(this._storageType, () => this.storage);
		this.logger = new CapturingLogger();
		LoggingConnectorFactory.register("logging", () => this.logger);
		this.connector = this.newInstance();
	}

	/**
	 * Another connector of the same implementation over the same storage (a restart).
	 * @returns The connector; it is stopped at the end of the run.
	 */
	public newInstance(): IBackgroundTaskConnector {
		const config = this._options.config ?? {};
		const connector: IBackgroundTaskConnector =
			this.impl === "original"
				? new original.EntityStorageBackgroundTaskConnector({
						backgroundTaskEntityStorageType: this._storageType,
						config: { taskInterval: 1, ...config }
					})
				: new ours.EntityStorageBackgroundTaskConnector({
						backgroundTaskEntityStorageType: this._storageType,
						config
					});
		this._instances.push(connector);
		return connector;
	}

	/**
	 * Start the connector.
	 * @param connector Another instance to start instead.
	 */
	public async start(connector: IBackgroundTaskConnector = this.connector): Promise<void> {
		await connector.start?.("test-node", undefined);
	}

	/**
	 * Register a handler of the fixtures module with the recording callback.
	 * @param type The task type.
	 * @param method The handler's export.
	 * @param module Another module.
	 * @returns Nothing (the step records what registerHandler returned or threw).
	 */
	public async register(type: string, method: string, module = HANDLERS): Promise<void> {
		await this.call(`registerHandler(${type}, ${method})`, async () =>
			this.connector.registerHandler(type, module, method, this.callback)
		);
	}

	/**
	 * Run an operation and record what it returned or threw, as a step.
	 * @param label What the step is.
	 * @param operation The operation.
	 * @returns What it returned, undefined when it threw.
	 */
	public async call<T>(label: string, operation: () => Promise<T>): Promise<T | undefined> {
		try {
			const value = await operation();
			this.observation.steps.push({
				label,
				value: normalise(value),
				relations: relationsIn(value)
			});
			return value;
		} catch (err) {
			this.observation.steps.push({ label, thrown: errorShape(err), relations: [] });
			return undefined;
		}
	}

	/**
	 * Create a task; the step records the URN (or the error).
	 * @param label What the step is.
	 * @param type The type.
	 * @param payload The payload.
	 * @param options The options.
	 * @returns The URN, or undefined when create threw.
	 */
	public async create(
		label: string,
		type: string,
		payload?: unknown,
		options?: { retryCount?: number; retryInterval?: number; retainFor?: number }
	): Promise<string | undefined> {
		return this.call(`create ${label}`, async () => this.connector.create(type, payload, options));
	}

	/**
	 * Record the stored rows now, as a step.
	 * @param label What the step is.
	 */
	public recordStored(label: string): void {
		this.observation.steps.push({
			label: `stored rows ${label}`,
			value: this.storedRows().map(s => s.row),
			relations: []
		});
	}

	/**
	 * Wait, bounded, until the check passes. For the original (the oracle) a timeout fails the
	 * test: the scenario asserts that the original gets there. For ours a timeout is recorded as a
	 * problem and the scenario carries on, so that every other difference is reported too.
	 * @param check The check.
	 * @param what A description.
	 */
	public async until(check: () => unknown, what: string): Promise<void> {
		const timeoutMs = this.impl === "original" ? ORIGINAL_WAIT_MS : OURS_WAIT_MS;
		try {
			await waitFor(check, timeoutMs, `${this.impl}: ${what}`);
		} catch (err) {
			if (this.impl === "original") {
				throw err;
			}
			this.observation.problems.push((err as Error).message);
		}
	}

	/**
	 * Wait until the callback has been called with the statuses given, in this order (other calls
	 * may come between them).
	 * @param statuses The statuses, e.g. ["processing", "success"].
	 * @param urn Only calls for this task.
	 */
	public async waitStatuses(statuses: string[], urn?: string): Promise<void> {
		const id = urn === undefined ? undefined : storageIdOf(urn);
		const seen = (): string[] =>
			this.observation.callbacks
				.filter(c => id === undefined || String(c.task.id).endsWith(id))
				.map(c => String(c.task.status));
		await this.until(
			() => containsInOrder(seen(), statuses),
			`callback statuses ${statuses.join(", ")}${id ? ` of ${id}` : ""} (seen ${seen().join(", ")})`
		);
	}

	/**
	 * Wait until the logger has received `count` entries with the message key.
	 * @param message The key.
	 * @param count The count.
	 */
	public async waitLog(message: string, count = 1): Promise<void> {
		await this.until(
			() => this.logger.entries.filter(e => e.message === message).length >= count,
			`${count} log entries "${message}"`
		);
	}

	/**
	 * The relevant log entries so far.
	 * @returns The entries with the original's keys, normalised.
	 */
	public relevantLogs(): Json[] {
		return this.logger.entries
			.filter(e => ORIGINAL_LOG_KEYS.includes(e.message))
			.map(e => ({
				level: e.level,
				source: e.source,
				message: e.message,
				dataKeys: Object.keys(e.data ?? {}),
				data: normalise(e.data),
				ts: normalise(e.ts, "ts")
			}));
	}

	/**
	 * The stored rows now.
	 * @returns The rows, sorted by id.
	 */
	public storedRows(): { row: Json; relations: Json }[] {
		const rows = structuredClone(this.storage.getStore()) as unknown as Json[];
		return rows
			.map(row => {
				const defined: Json = {};
				for (const k of Object.keys(row)) {
					if (row[k] !== undefined) {
						defined[k] = row[k];
					}
				}
				return defined;
			})
			.sort((a, b) => String(a.id).localeCompare(String(b.id)))
			.map(row => ({
				row: sortKeys(normalise(row) as Json),
				relations: timeRelations(row, false)
			}));
	}

	/**
	 * Finish the run: wait (bounded, never failing) until ours has shown as many callback calls and
	 * relevant log entries as the original did, record the stored rows and logs, stop every
	 * connector.
	 * @param expected The original's observation, when this is ours.
	 * @returns The observation.
	 */
	public async finish(expected?: IObservation): Promise<IObservation> {
		try {
			if (expected) {
				await waitFor(
					() =>
						(this.observation.callbacks.length >= expected.callbacks.length &&
							this.relevantLogs().length >= expected.logs.length) ||
						undefined,
					3000,
					"ours to catch up",
					false
				);
			}
			this.observation.stored = this.storedRows();
			this.observation.logs = this.relevantLogs();
		} finally {
			await this.stopAll();
		}
		return this.observation;
	}

	/**
	 * Stop every connector of the run.
	 */
	public async stopAll(): Promise<void> {
		for (const connector of this._instances.splice(0)) {
			await connector.stop?.("test-node", undefined);
		}
	}
}

/**
 * The storage id of a URN.
 * @param urn The URN, or already a storage id.
 * @returns The storage id.
 */
export function storageIdOf(urn: string): string {
	return urn.startsWith(URN_PREFIX) ? urn.slice(URN_PREFIX.length) : urn;
}

/**
 * Does the list contain the items in order (not necessarily next to each other).
 * @param list The list.
 * @param items The items.
 * @returns True if it does.
 */
function containsInOrder(list: string[], items: string[]): boolean {
	let i = 0;
	for (const value of list) {
		if (value === items[i]) {
			i++;
		}
		if (i === items.length) {
			return true;
		}
	}
	return items.length === 0;
}

/**
 * Poll until the check returns a value other than undefined/false, with a deadline.
 * @param check The check.
 * @param timeoutMs The bound.
 * @param what A description for the failure message.
 * @param fail Throw when the bound passes (else just return).
 * @returns Nothing.
 */
export async function waitFor(
	check: () => unknown,
	timeoutMs: number,
	what: string,
	fail = true
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) {
			return;
		}
		if (Date.now() > deadline) {
			if (fail) {
				throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
			}
			return;
		}
		await new Promise(resolve => setTimeout(resolve, 5));
	}
}

/**
 * Wait until the clock has moved on by at least `ms` milliseconds, so that the next timestamp
 * differs from every earlier one (a bounded poll of the clock, not a sleep for a state).
 * @param ms The milliseconds.
 */
export async function clockAdvance(ms = 2): Promise<void> {
	const target = Date.now() + ms;
	await waitFor(() => Date.now() >= target, 1000, "the clock");
}

/**
 * A scenario: what a caller does, through the run's helpers.
 */
export type Scenario = (run: Run) => Promise<void>;

/**
 * The observations of both implementations.
 */
export interface IBoth {
	/**
	 * The original's.
	 */
	original: IObservation;

	/**
	 * Ours.
	 */
	ours: IObservation;
}

/**
 * Run the scenario through the original, then through ours.
 * @param scenario The scenario.
 * @param options The options.
 * @returns Both observations.
 */
export async function runBoth(scenario: Scenario, options: IRunOptions = {}): Promise<IBoth> {
	const originalRun = new Run("original", options);
	try {
		await scenario(originalRun);
	} catch (err) {
		await originalRun.stopAll();
		throw err;
	}
	const originalObservation = await originalRun.finish();
	const oursRun = new Run("ours", options);
	try {
		await scenario(oursRun);
	} catch (err) {
		oursRun.observation.problems.push(
			`ours: the scenario stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`
		);
	}
	return { original: originalObservation, ours: await oursRun.finish(originalObservation) };
}

/**
 * Every difference between the two observations: steps and return values with key order, callback
 * calls (their key lists in order), stored rows and relevant logs.
 * @param expected The original's observation, or what ours is expected to show.
 * @param actual Ours.
 * @returns The lines.
 */
export function observationDifferences(expected: IObservation, actual: IObservation): string[] {
	const out: string[] = [];
	const count = Math.max(expected.steps.length, actual.steps.length);
	for (let i = 0; i < count; i++) {
		const e = expected.steps[i];
		const a = actual.steps[i];
		const path = `steps[${i}] "${(e ?? a).label}"`;
		if (!e || !a) {
			out.push(`${path}: only in ${e ? "original" : "ours"}: ${fmt(e ?? a)}`);
			continue;
		}
		differences(e.label, a.label, false, `${path}.label`, out);
		if ((e.thrown === undefined) !== (a.thrown === undefined)) {
			out.push(
				`${path}: original ${e.thrown ? `threw ${fmt(e.thrown)}` : `returned ${fmt(e.value)}`} vs ours ${a.thrown ? `threw ${fmt(a.thrown)}` : `returned ${fmt(a.value)}`}`
			);
			continue;
		}
		differences(e.thrown, a.thrown, false, `${path}.thrown`, out);
		differences(e.value, a.value, true, `${path}.value`, out);
		differences(e.relations, a.relations, false, `${path}.relations`, out);
	}
	differences(expected.callbacks, actual.callbacks, false, "callbacks", out);
	differences(expected.stored, actual.stored, false, "stored", out);
	differences(expected.logs, actual.logs, true, "logs", out);
	differences(expected.problems, actual.problems, false, "problems", out);
	return out;
}
