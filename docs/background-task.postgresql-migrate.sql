-- Fix a background task table that the PostgreSQL connector's bootstrap created (INTEGER
-- "retainUntil", REAL numbers). Safe to run on a table that is already correct.
ALTER TABLE background_task
	ALTER COLUMN "retainUntil" TYPE BIGINT,
	ALTER COLUMN "retryInterval" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retriesRemaining" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retainFor" TYPE DOUBLE PRECISION;
-- For the native PostgreSQL backend (config.postgresql): its two nullable lease columns and its
-- claim index. The backend adds them itself at start() when they are missing; run these lines
-- beforehand to keep DDL out of a node's start. Both paths keep working on the table afterwards.
ALTER TABLE background_task
	ADD COLUMN IF NOT EXISTS "leaseOwner" TEXT NULL,
	ADD COLUMN IF NOT EXISTS "leaseExpires" BIGINT NULL;
CREATE INDEX IF NOT EXISTS background_task_claim ON background_task ("type", "threadId", "dateNextProcess", "dateCreated", "id");
