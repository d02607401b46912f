// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// The PostgreSQL job kinds for child.mjs (scenarios in pgScenarios.mjs and pgNodeScenarios.mjs).
// Each module is imported only when a job of its kind runs, so the other benchmark children never
// load graphile-worker or a PostgreSQL client.
export const PG_JOBS = {
	"pg-graphile-backlog": async params => (await import("./pgGraphile.mjs")).graphileBacklog(params),
	"pg-graphile-addjob": async params => (await import("./pgGraphile.mjs")).graphileAddJob(params),
	"pg-graphile-addjobs": async params => (await import("./pgGraphile.mjs")).graphileAddJobs(params),
	"pg-connector-backlog": async params =>
		(await import("./pgConnectorJobs.mjs")).connectorBacklog(params),
	"pg-connector-create": async params =>
		(await import("./pgConnectorJobs.mjs")).connectorCreate(params),
	"pg-connector-createmany": async params =>
		(await import("./pgConnectorJobs.mjs")).connectorCreateMany(params),
	"pg-latency": async params => (await import("./pgMultiNode.mjs")).crossNodeLatency(params),
	"pg-scaling": async params => (await import("./pgMultiNode.mjs")).multiNodeScaling(params),
	"pg-retained": async params => (await import("./pgRetained.mjs")).retainedBacklog(params),
	"pg-node-native": async params => (await import("./pgColdNode.mjs")).coldNodeNative(params),
	"pg-node-graphile": async params =>
		(await import("./pgGraphileCold.mjs")).coldNodeGraphile(params)
};
