// Vitest global setup: the one PostgreSQL server of the run (scripts/servers/postgres.mjs, fast
// rather than durable), started unless every project of the run is one without it, with a template database
// holding the shipped table; each spec file makes its own database from it (tests/setup/postgres.ts).
import { readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { POSTGRES_SUPERUSER, startPostgres } from "../../scripts/servers/postgres.mjs";
import {
	sharedAdmin,
	TABLE_SQL_FILE,
	TEST_SETTINGS,
	type ISharedPostgres
} from "./postgresShared.js";

/**
 * The projects whose files never use PostgreSQL.
 */
const WITHOUT_POSTGRES = new Set(["unit", "integration"]);

/**
 * The template database.
 */
const TEMPLATE = "twin_template";

/**
 * Start the shared server when the run needs it, and provide its details to the test files.
 * @param project The root project.
 * @returns Stops the server.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
	if (project.vitest.projects.every(p => WITHOUT_POSTGRES.has(p.name))) {
		return;
	}
	const server = await startPostgres({
		// Room for the files running at once, each with its pools, listeners and node processes.
		settings: { ...TEST_SETTINGS, max_connections: "300" }
	});
	const shared: ISharedPostgres = {
		host: server.host,
		port: server.port,
		user: server.user,
		template: TEMPLATE
	};
	try {
		const admin = sharedAdmin(shared, POSTGRES_SUPERUSER);
		await admin.unsafe(`CREATE DATABASE "${TEMPLATE}"`).finally(async () => admin.end());
		const template = sharedAdmin(shared, TEMPLATE);
		await template.unsafe(readFileSync(TABLE_SQL_FILE, "utf8")).finally(async () => template.end());
	} catch (err) {
		await server.stop();
		throw new Error(`Preparing the shared PostgreSQL server failed: ${(err as Error).message}`);
	}
	project.provide("sharedPostgres", shared);
	return async () => server.stop();
}
