// A throw-away DynamoDB for the storage contract suite: the launcher shared with the benchmark
// (scripts/servers/dynalite.mjs: dynalite, the npm dev dependency, in memory, in a child process
// on a free loopback port that ends itself when its parent goes), wrapped in a vitest hook, with
// connectors on tables created by TWIN's DynamoDB connector's own bootstrap.
//
// When the server cannot start, startDynalite() throws with the reason (and the child's output):
// the suite fails, it is never skipped.
import { DynamoDbEntityStorageConnector } from "@twin.org/entity-storage-connector-dynamodb";
import { afterAll } from "vitest";
import {
	DYNAMODB_REGION,
	dynamoDbConfig,
	startDynalite,
	type IDynalite
} from "../../scripts/servers/dynalite.mjs";
import type { BackgroundTask } from "../../src/index.js";

export { DYNAMODB_REGION, startDynalite };

/**
 * A running dynalite.
 */
export type ITestDynalite = IDynalite;

/**
 * A server shared by the tests of one spec file, started by the first test that needs it and
 * stopped after the file. A server that cannot start fails every test that needs it, with the
 * reason (a failed beforeAll would only mark the tests skipped).
 * @returns A function returning the running server.
 */
export function useDynalite(): () => Promise<ITestDynalite> {
	let server: Promise<ITestDynalite> | undefined;
	afterAll(async () => {
		const running = await server?.catch(() => undefined);
		await running?.stop();
	});
	return async () => {
		server ??= startDynalite();
		return server;
	};
}

let tableCount = 0;

/**
 * A table name not used before in this process.
 * @param prefix The name's start.
 * @returns The name.
 */
export function freshTableName(prefix = "background_task"): string {
	return `${prefix}_${process.pid}_${++tableCount}`;
}

/**
 * A DynamoDB storage connector on the test server, with fake credentials.
 * @param server The server.
 * @param tableName The table.
 * @returns The connector (not bootstrapped).
 */
export function dynamoDbConnector(
	server: ITestDynalite,
	tableName: string
): DynamoDbEntityStorageConnector<BackgroundTask> {
	return new DynamoDbEntityStorageConnector<BackgroundTask>({
		entitySchema: "BackgroundTask",
		config: dynamoDbConfig(server, tableName)
	});
}

/**
 * A DynamoDB storage connector on a new, empty table that the connector's bootstrap creates (the
 * partition key "partitionId", the range key "id", and one global secondary index per sortable or
 * secondary property: type, threadId, dateCreated, dateModified, dateNextProcess).
 * @param server The server.
 * @param tableName The table, a new one by default.
 * @returns The bootstrapped connector.
 */
export async function createDynamoDbStorage(
	server: ITestDynalite,
	tableName = freshTableName()
): Promise<DynamoDbEntityStorageConnector<BackgroundTask>> {
	const storage = dynamoDbConnector(server, tableName);
	// The bootstrap logs its failures (through a logging connector, none here) and returns false.
	if (!(await storage.bootstrap())) {
		throw new Error(`The DynamoDB connector's bootstrap of table ${tableName} failed`);
	}
	return storage;
}
