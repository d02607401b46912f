-- The background task table for the native PostgreSQL backend (config.postgresql), as the backend
-- creates it at start() when it is missing. The columns are those of the BackgroundTask entity, as
-- in background-task.postgresql.sql, so the rows stay readable through TWIN's PostgreSQL
-- entity-storage connector and a node can move between the two paths. The five queue columns
-- ("priority" to "attempts") are the entity's optional properties, NULL for a task created without
-- the option, and so are "progress", NULL until a handler reports progress, and "traceContext",
-- NULL unless an OpenTelemetry span was active at create. Two nullable columns are the backend's
-- own:
--   "leaseOwner"   the id of the node session that claimed a processing task;
--   "leaseExpires" when that claim ends, epoch milliseconds on the database's clock (renewed by the
--                  owner's heartbeat; an expired claim is taken over by any node).
-- The backend always quotes the table name, so it is case-sensitive; replace background_task
-- throughout to use another name (index names are the table name with a suffix).
CREATE TABLE IF NOT EXISTS "background_task" (
	"id" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	"type" TEXT COLLATE "C" NOT NULL,
	"threadId" TEXT COLLATE "C" NOT NULL,
	"retryInterval" DOUBLE PRECISION NULL,
	"retriesRemaining" DOUBLE PRECISION NULL,
	"dateCreated" TEXT COLLATE "C" NOT NULL,
	"dateModified" TEXT COLLATE "C" NOT NULL,
	"dateNextProcess" TEXT COLLATE "C" NULL,
	"dateCancelled" TEXT COLLATE "C" NULL,
	"dateCompleted" TEXT COLLATE "C" NULL,
	"retainFor" DOUBLE PRECISION NULL,
	"retainUntil" BIGINT NULL,
	"status" TEXT NOT NULL,
	"payload" JSONB NULL,
	"result" JSONB NULL,
	"error" JSONB NULL,
	"leaseOwner" TEXT NULL,
	"leaseExpires" BIGINT NULL,
	"priority" INTEGER NULL,
	"dedupKey" TEXT NULL,
	"retryBackoff" TEXT NULL,
	"retryMaxInterval" DOUBLE PRECISION NULL,
	"attempts" INTEGER NULL,
	"progress" JSONB NULL,
	"traceContext" JSONB NULL,
	"abortReason" TEXT NULL
) WITH (fillfactor = 40);
-- fillfactor 40: room on each page for a new version of every row on it, so a claim is a HOT
-- update (no index entries written) even when it takes all of a page's rows; docs/performance.md.
-- A due-task sample by thread (noHandler report), active tasks only; and the sweep of retained
-- tasks: only rows the sweep can remove (retainUntil > 0) are in that index, so an active task
-- costs it no entry.
CREATE INDEX IF NOT EXISTS "background_task_thread_active" ON "background_task" ("threadId", "dateNextProcess", "id") WHERE "dateNextProcess" IS NOT NULL;
CREATE INDEX IF NOT EXISTS "background_task_retain_kept" ON "background_task" ("retainUntil") WHERE "retainUntil" > 0;
-- The native backend's claim: due tasks of one type and thread in claim order (highest priority
-- first, NULL as 0; then due date, creation, id), read in index order up to the batch size
-- without a sort. Only active tasks (those with a due date) are in it: a final task costs it no
-- entry.
CREATE INDEX IF NOT EXISTS "background_task_claim_due" ON "background_task" ("type", "threadId", (COALESCE("priority", 0)) DESC, "dateNextProcess", "dateCreated", "id") WHERE "dateNextProcess" IS NOT NULL;
-- Deduplication: at most one active (pending or processing) task per type and dedupKey, so a
-- create with a dedupKey is one atomic statement across nodes (INSERT ... ON CONFLICT). A task has
-- a "dateNextProcess" exactly while it is pending or processing; the condition names that column
-- rather than "status" so that claims, which change the status, can stay HOT updates.
CREATE UNIQUE INDEX IF NOT EXISTS "background_task_dedup" ON "background_task" ("type", "dedupKey") WHERE "dedupKey" IS NOT NULL AND "dateNextProcess" IS NOT NULL;
-- Rate limits (registerHandler's rateLimit) across nodes: starts taken per type in the current
-- fixed window (its start, epoch ms on the database's clock); the sweep removes windows that are
-- over.
CREATE TABLE IF NOT EXISTS "background_task_rate" (
	"type" TEXT NOT NULL,
	"windowStart" BIGINT NOT NULL,
	"count" INTEGER NOT NULL,
	PRIMARY KEY ("type", "windowStart")
);
-- Serial types (registerHandler's serial) across nodes: the task each type's last serial claim
-- took, so the next claim checks that one task rather than scanning the type's rows.
CREATE TABLE IF NOT EXISTS "background_task_serial" (
	"type" TEXT NOT NULL PRIMARY KEY,
	"taskId" TEXT NOT NULL
);
-- Paused types (pause()) across nodes: every node's claims skip the tasks of a type listed here.
CREATE TABLE IF NOT EXISTS "background_task_paused" (
	"type" TEXT NOT NULL PRIMARY KEY
);
-- Recurring tasks (schedule()) across nodes: each slot's task is inserted by the one statement that
-- moves the schedule's "nextSlot" on, so it fires once whichever nodes are up.
CREATE TABLE IF NOT EXISTS "background_task_schedules" (
	"name" TEXT NOT NULL PRIMARY KEY,
	"type" TEXT NOT NULL,
	"payload" JSONB NULL,
	"spec" JSONB NOT NULL,
	"options" JSONB NULL,
	"catchUp" TEXT NOT NULL,
	"nextSlot" TIMESTAMPTZ NULL,
	"lastSlot" TIMESTAMPTZ NULL,
	"updated" TIMESTAMPTZ NOT NULL
);
-- Every settle updates every index (and so does a claim that cannot be a HOT update), so no other
-- index is created: the type and status indexes of background-task.postgresql.sql cost about a
-- fifth of the throughput (see docs/performance.md). A node that also queries by status a lot may add this one:
-- CREATE INDEX IF NOT EXISTS "background_task_status_created" ON "background_task" ("status", "dateCreated", "id");
