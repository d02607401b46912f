-- Bring an existing background task table up to date. Safe to run on a table that is already
-- correct, and more than once.
--
-- The queue options' columns (priority, deduplication, retry backoff, attempts), the handlers'
-- progress and the OpenTelemetry trace context, all nullable: a task created without an option,
-- whose handler reports no progress, or created with no span active, leaves its column NULL, so
-- existing rows need no change.
ALTER TABLE background_task
	ADD COLUMN IF NOT EXISTS "priority" INTEGER NULL,
	ADD COLUMN IF NOT EXISTS "dedupKey" TEXT NULL,
	ADD COLUMN IF NOT EXISTS "retryBackoff" TEXT NULL,
	ADD COLUMN IF NOT EXISTS "retryMaxInterval" DOUBLE PRECISION NULL,
	ADD COLUMN IF NOT EXISTS "attempts" INTEGER NULL,
	ADD COLUMN IF NOT EXISTS "progress" JSONB NULL,
	ADD COLUMN IF NOT EXISTS "traceContext" JSONB NULL;
-- Fix a background task table that the PostgreSQL connector's bootstrap created (INTEGER
-- "retainUntil", REAL numbers).
ALTER TABLE background_task
	ALTER COLUMN "retainUntil" TYPE BIGINT,
	ALTER COLUMN "retryInterval" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retriesRemaining" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retainFor" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retryMaxInterval" TYPE DOUBLE PRECISION;
-- For the native PostgreSQL backend (config.postgresql): its nullable lease columns and the
-- abortReason that abort(id) asks of a running task's node, its claim index (by priority, then
-- due date; it replaces the claim index of earlier versions), the dedup index and the tables of
-- rate-limit windows, serial types' holders, paused types and schedules. The backend adds them
-- itself at start() when they are missing; run these lines beforehand to keep DDL out of a
-- node's start. Both paths keep working on the table afterwards. The dedup index cannot be made
-- while two active (pending or processing) tasks of one type share a dedupKey.
ALTER TABLE background_task
	ADD COLUMN IF NOT EXISTS "leaseOwner" TEXT NULL,
	ADD COLUMN IF NOT EXISTS "leaseExpires" BIGINT NULL,
	ADD COLUMN IF NOT EXISTS "abortReason" TEXT NULL;
DROP INDEX IF EXISTS background_task_claim;
DROP INDEX IF EXISTS background_task_retain;
DROP INDEX IF EXISTS background_task_claim_priority;
DROP INDEX IF EXISTS background_task_thread_due;
CREATE INDEX IF NOT EXISTS background_task_thread_active ON background_task ("threadId", "dateNextProcess", "id") WHERE "dateNextProcess" IS NOT NULL;
CREATE INDEX IF NOT EXISTS background_task_retain_kept ON background_task ("retainUntil") WHERE "retainUntil" > 0;
-- Optional: room on new pages for HOT updates of claims and settles (existing pages keep theirs
-- until rewritten, e.g. by VACUUM FULL).
ALTER TABLE background_task SET (fillfactor = 40);
CREATE INDEX IF NOT EXISTS background_task_claim_due ON background_task ("type", "threadId", (COALESCE("priority", 0)) DESC, "dateNextProcess", "dateCreated", "id") WHERE "dateNextProcess" IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS background_task_dedup ON background_task ("type", "dedupKey") WHERE "dedupKey" IS NOT NULL AND "dateNextProcess" IS NOT NULL;
CREATE TABLE IF NOT EXISTS background_task_rate (
	"type" TEXT NOT NULL,
	"windowStart" BIGINT NOT NULL,
	"count" INTEGER NOT NULL,
	PRIMARY KEY ("type", "windowStart")
);
CREATE TABLE IF NOT EXISTS background_task_serial (
	"type" TEXT NOT NULL PRIMARY KEY,
	"taskId" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS background_task_paused (
	"type" TEXT NOT NULL PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS background_task_schedules (
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
