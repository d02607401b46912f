// OpenTelemetry (issue 22, item 7) across nodes on the native backend: two connectors in one
// process stand for two nodes. A task created under a span on one node and run by the other has
// its attempt span in the create span's trace, parented on it, through the trace context stored
// in its row, also when that node is a process of its own; a node with no provider leaves the
// column NULL.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SpanKind } from "@opentelemetry/api";
import { TaskStatus } from "@twin.org/background-task-models";
import { afterEach, describe, expect, test } from "vitest";
import { EntityStorageBackgroundTaskConnector } from "../../src/index.js";
import { LATER_COLUMNS } from "../../src/store/postgresql/sql/columns.js";
import { waitFor, waitForStatus } from "../helpers/harness.js";
import { registerOtel, taskSpans, type IOtelUnderTest } from "../helpers/otel.js";
import { storageIdOf } from "../helpers/tasks.js";
import { useSources } from "./helpers.js";

const CHILD = new URL("../fixtures/otel-node-child.mjs", import.meta.url).pathname;
const run = promisify(execFile);

const OTEL_HANDLERS = new URL("../fixtures/otel-handlers.mjs", import.meta.url).href;

const { config, server, table } = useSources();

const nodes: EntityStorageBackgroundTaskConnector[] = [];
afterEach(async () => {
	await Promise.all(nodes.splice(0).map(async node => node.stop("test")));
});

/**
 * A started node on the test table.
 * @param runs Whether it registers the handler (a node that only creates does not).
 * @param executionMode Where its handlers run.
 * @returns The connector.
 */
async function node(
	runs: boolean,
	executionMode: "inline" | "worker" = "inline"
): Promise<EntityStorageBackgroundTaskConnector> {
	const connector = new EntityStorageBackgroundTaskConnector({
		config: {
			executionMode,
			maxWorkers: 1,
			pollInterval: 200,
			postgresql: { ...config(), leaseTimeout: 2000, heartbeatInterval: 500 }
		}
	});
	if (runs) {
		await connector.registerHandler("traced", OTEL_HANDLERS, "traced");
	}
	await connector.start("test");
	nodes.push(connector);
	return connector;
}

/**
 * A task's row as the database holds it.
 * @param id The storage id.
 * @returns The row.
 */
async function row(id: string): Promise<{ [column: string]: unknown }> {
	const rows = await server().sql.unsafe(`SELECT * FROM "${table()}" WHERE "id" = $1`, [id]);
	return rows[0];
}

/**
 * Create a "traced" task inside a span of the test's tracer.
 * @param otel The registered providers.
 * @param creator The node that creates it.
 * @returns The task's URN and the create span's ids.
 */
async function createUnderSpan(
	otel: IOtelUnderTest,
	creator: EntityStorageBackgroundTaskConnector
): Promise<{ urn: string; createSpan: { traceId: string; spanId: string } }> {
	return otel.tracer.startActiveSpan("create", async span => {
		try {
			const urn = await creator.create("traced", undefined, { retainFor: -1 });
			return { urn, createSpan: span.spanContext() };
		} finally {
			span.end();
		}
	});
}

describe("OpenTelemetry across nodes (native backend)", () => {
	test.each(["inline", "worker"] as const)(
		"a task created under a span on one node and run on the other (%s) continues the create span's trace",
		async mode => {
			const otel = registerOtel();
			const creator = await node(false);
			const runner = await node(true, mode);
			const { urn, createSpan } = await createUnderSpan(otel, creator);
			const id = storageIdOf(urn);
			const task = await waitForStatus(runner, urn, [TaskStatus.Success]);
			expect((await row(id)).traceContext).toEqual({
				traceparent: `00-${createSpan.traceId}-${createSpan.spanId}-01`
			});
			const span = await waitFor(() =>
				taskSpans(otel.spans()).find(s => s.attributes["messaging.message.id"] === id)
			);
			expect(span.kind).toBe(SpanKind.CONSUMER);
			expect(span.spanContext().traceId).toBe(createSpan.traceId);
			expect(span.parentSpanContext?.spanId).toBe(createSpan.spanId);
			expect(span.parentSpanContext?.isRemote).toBe(true);
			expect(span.attributes["background_task.outcome"]).toBe("success");
			// Only the runner ran it: one attempt span.
			expect(
				taskSpans(otel.spans()).filter(s => s.attributes["messaging.message.id"] === id)
			).toHaveLength(1);
			expect((task.result as { activeSpanId?: string }).activeSpanId).toBe(
				span.spanContext().spanId
			);
		}
	);

	test("a node in another process, with a provider of its own, parents its attempt span on the span of the create made here", async () => {
		const otel = registerOtel();
		const creator = await node(false);
		const { urn, createSpan } = await createUnderSpan(otel, creator);
		const { stdout } = await run(
			process.execPath,
			[
				CHILD,
				JSON.stringify({
					postgresql: { ...config(), leaseTimeout: 2000, heartbeatInterval: 500 },
					urn
				})
			],
			{ timeout: 60_000 }
		);
		const report = JSON.parse(stdout.trim().split("\n").pop() as string) as {
			status: string;
			spans: {
				name: string;
				traceId: string;
				parentSpanId?: string;
				parentIsRemote?: boolean;
				attributes: { [key: string]: unknown };
			}[];
		};
		expect(report.status).toBe(TaskStatus.Success);
		const attempt = report.spans.find(s => s.name === "process traced");
		expect(attempt).toMatchObject({
			traceId: createSpan.traceId,
			parentSpanId: createSpan.spanId,
			parentIsRemote: true,
			attributes: {
				"messaging.message.id": storageIdOf(urn),
				"background_task.outcome": "success"
			}
		});
		// This process never ran it: no attempt span here.
		expect(taskSpans(otel.spans())).toEqual([]);
	});

	test("without a registered provider the trace context column stays NULL, as every column this package added for an unused feature", async () => {
		const creator = await node(false);
		const runner = await node(true);
		const urn = await creator.create("traced", undefined, { retainFor: -1 });
		const many = await creator.createMany("traced", [{ a: 1 }, { a: 2 }], { retainFor: -1 });
		for (const each of [urn, ...many]) {
			await waitForStatus(runner, each, [TaskStatus.Success]);
			const stored = await row(storageIdOf(each));
			for (const column of LATER_COLUMNS.filter(c => c.kind === "entity")) {
				expect(stored[column.name], column.name).toBeNull();
			}
		}
	});
});
