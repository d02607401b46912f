// RowCodec.toStorage builds the rows of this package's schema with one object literal; any other
// schema goes property by property. Both must write the same row: every schema property in the
// schema's order, an absent one as undefined, a queue option's only when set.
import { EntitySchemaFactory, type IEntitySchema } from "@twin.org/entity";
import { describe, expect, test } from "vitest";
import type { BackgroundTask } from "../src/domain/backgroundTask.js";
import { QUEUE_PROPERTIES } from "../src/domain/queueProperties.js";
import { initSchema } from "../src/index.js";
import { UNKNOWN_CONNECTOR } from "../src/store/entityStorage/connectorProfiles.js";
import { RowCodec } from "../src/store/entityStorage/rowCodec.js";

initSchema();

const SCHEMA = EntitySchemaFactory.get("BackgroundTask") as IEntitySchema;

const PLAIN = {
	id: "0123456789abcdef0123456789abcdef",
	type: "t",
	threadId: "thread",
	dateCreated: "2026-01-01T00:00:00.000Z",
	dateModified: "2026-01-01T00:00:00.000Z",
	dateNextProcess: "2026-01-01T00:00:00.000Z",
	retainFor: 0,
	status: "pending",
	payload: { a: 1 }
} as unknown as BackgroundTask;

const QUEUED = {
	...PLAIN,
	priority: 2,
	dedupKey: "k",
	retryBackoff: "exponential",
	retryMaxInterval: 1000,
	attempts: 0
} as unknown as BackgroundTask;

/**
 * The row, written plainly from the schema.
 * @param schema The schema.
 * @param task The task.
 * @returns The expected row's entries, in order.
 */
function expected(schema: IEntitySchema, task: BackgroundTask): [string, unknown][] {
	const values = task as unknown as { [key: string]: unknown };
	return (schema.properties ?? [])
		.map(p => p.property)
		.filter(p => values[p] !== undefined || !QUEUE_PROPERTIES.has(p as keyof BackgroundTask))
		.map(p => [p, values[p]]);
}

describe("RowCodec.toStorage", () => {
	test.each([
		["without queue options", PLAIN],
		["with every queue option", QUEUED]
	])("this package's schema, %s", (_, task) => {
		const row = new RowCodec(SCHEMA, UNKNOWN_CONNECTOR).toStorage(task);
		expect(Object.entries(row)).toEqual(expected(SCHEMA, task));
		expect(row).not.toBe(task);
	});

	test("a schema with a property more writes it too", () => {
		const schema = {
			...SCHEMA,
			properties: [...(SCHEMA.properties ?? []), { property: "extra", type: "string" }]
		} as IEntitySchema;
		const task = { ...QUEUED, extra: "x" } as unknown as BackgroundTask;
		const row = new RowCodec(schema, UNKNOWN_CONNECTOR).toStorage(task);
		expect(Object.entries(row)).toEqual(expected(schema, task));
	});
});
