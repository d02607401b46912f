-- Fix a background task table that the PostgreSQL connector's bootstrap created (INTEGER
-- "retainUntil", REAL numbers). Safe to run on a table that is already correct.
ALTER TABLE background_task
	ALTER COLUMN "retainUntil" TYPE BIGINT,
	ALTER COLUMN "retryInterval" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retriesRemaining" TYPE DOUBLE PRECISION,
	ALTER COLUMN "retainFor" TYPE DOUBLE PRECISION;
