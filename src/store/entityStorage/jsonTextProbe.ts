// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
import { randomBytes } from "node:crypto";
import type { IEntityStorageConnector } from "@twin.org/entity-storage-models";
import type { BackgroundTask } from "../../domain/backgroundTask.js";
import type { RowCodec } from "./rowCodec.js";

/**
 * The type and thread of the probe task: no handler has it.
 */
const PROBE_TYPE = "twin-fast:json-probe";

/**
 * Whether object columns come back as their JSON text. The MySQL connector JSON-encodes them on
 * write; MySQL's JSON type hands the value back parsed, MariaDB's (an alias of LONGTEXT) hands
 * back the text, and no single value tells the two apart. So a probe task is written once, read
 * back and removed. Answered once per connector; a probe that fails is tried again at the next
 * call.
 */
export class JsonTextProbe {
	/**
	 * The probe's answer, once asked (undefined again after a probe failed).
	 * @internal
	 */
	private _answer?: Promise<boolean>;

	/**
	 * The answer once known (at once for connectors that never return text), so reads need no
	 * await for it.
	 * @internal
	 */
	private _known?: boolean;

	/**
	 * Create a new JsonTextProbe.
	 * @param mayBeText Whether the connector may return text at all (else the answer is false).
	 * @param probe Asks the store: true when an object payload came back as a string.
	 */
	constructor(
		mayBeText: boolean,
		private readonly probe: () => Promise<boolean>
	) {
		if (!mayBeText) {
			this._known = false;
		}
	}

	/**
	 * The answer when known without waiting.
	 * @returns The answer, or undefined until the probe has answered.
	 */
	public get known(): boolean | undefined {
		return this._known;
	}

	/**
	 * The answer, probing the store the first time (and again after a failed probe).
	 * @returns True when object columns come back as text.
	 */
	public answer(): Promise<boolean> {
		this._answer ??= this.probe().then(
			text => (this._known = text),
			err => {
				this._answer = undefined;
				throw err;
			}
		);
		return this._answer;
	}
}

/**
 * Write, read back and remove a probe task whose payload is an object.
 * @param storage The connector.
 * @param codec Makes the row written.
 * @param call Runs one storage call as the adapter runs every call.
 * @returns True when the payload came back as a string.
 */
export async function probeJsonText(
	storage: IEntityStorageConnector<BackgroundTask>,
	codec: RowCodec,
	call: <T>(op: () => Promise<T>) => Promise<T>
): Promise<boolean> {
	const now = new Date().toISOString();
	const probe = {
		id: randomBytes(16).toString("hex"),
		type: PROBE_TYPE,
		threadId: PROBE_TYPE,
		status: "cancelled",
		dateCreated: now,
		dateModified: now,
		dateCancelled: now,
		payload: { probe: true }
	} as unknown as BackgroundTask;
	await call(async () => storage.set(codec.toStorage(probe)));
	try {
		const read = await call(async () => storage.get(probe.id));
		return typeof read?.payload === "string";
	} finally {
		await call(async () => storage.remove(probe.id));
	}
}
