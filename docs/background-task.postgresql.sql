-- The background task table for @twin.org/entity-storage-connector-postgresql.
-- Create it before the node first bootstraps the connector (bootstrap leaves an existing table
-- alone). The connector's own bootstrap makes "retainUntil" a 32-bit INTEGER, too small for epoch
-- milliseconds ("out of range for type integer"), and number columns REAL (24-bit precision).
-- Keep the table name lower case: the connector quotes it in queries but not when it creates it.
CREATE TABLE IF NOT EXISTS background_task (
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
	-- The queue options (priority, dedupKey, retryBackoff, retryMaxInterval; attempts counted for
	-- tasks that record them), the last progress a handler reported and the OpenTelemetry trace
	-- context of the create: written only when set, NULL otherwise.
	"priority" INTEGER NULL,
	"dedupKey" TEXT NULL,
	"retryBackoff" TEXT NULL,
	"retryMaxInterval" DOUBLE PRECISION NULL,
	"attempts" INTEGER NULL,
	"progress" JSONB NULL,
	"traceContext" JSONB NULL
);
-- The connector's queries: a type's tasks by due date, a thread's tasks by due date, tasks by
-- status, and the retained-task sweep.
CREATE INDEX IF NOT EXISTS background_task_type_due ON background_task ("type", "dateNextProcess", "id");
CREATE INDEX IF NOT EXISTS background_task_thread_due ON background_task ("threadId", "dateNextProcess", "id");
CREATE INDEX IF NOT EXISTS background_task_status_created ON background_task ("status", "dateCreated", "id");
CREATE INDEX IF NOT EXISTS background_task_retain ON background_task ("retainUntil");
