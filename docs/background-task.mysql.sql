-- The background task table for @twin.org/entity-storage-connector-mysql (MySQL 8, MariaDB 10.5+).
-- Create it in the configured database before the node first bootstraps the connector (bootstrap
-- leaves an existing table alone). The connector's own bootstrap makes every number column FLOAT
-- (single precision: a retainFor of 86400001 ms is stored as 86400000), every string LONGTEXT
-- (no index possible but the primary key's 255-character prefix) in the server's default
-- collation, which is case-insensitive on most servers ('A' = 'a').
-- Replace background_task to use another table name.
CREATE TABLE IF NOT EXISTS `background_task` (
	`id` VARCHAR(255) NOT NULL,
	`type` VARCHAR(255) NOT NULL,
	`threadId` VARCHAR(255) NOT NULL,
	`retryInterval` DOUBLE NULL,
	`retriesRemaining` DOUBLE NULL,
	-- ISO 8601 dates, compared and sorted as text.
	`dateCreated` VARCHAR(64) NOT NULL,
	`dateModified` VARCHAR(64) NOT NULL,
	`dateNextProcess` VARCHAR(64) NULL,
	`dateCancelled` VARCHAR(64) NULL,
	`dateCompleted` VARCHAR(64) NULL,
	`retainFor` DOUBLE NULL,
	-- Epoch milliseconds: too large for INT.
	`retainUntil` BIGINT NULL,
	`status` VARCHAR(32) NOT NULL,
	-- JSON: a native type on MySQL 8 (read back as values); on MariaDB an alias of LONGTEXT with a
	-- JSON_VALID check (read back as JSON text).
	`payload` JSON NULL,
	`result` JSON NULL,
	`error` JSON NULL,
	-- The queue options (priority, dedupKey, retryBackoff, retryMaxInterval; attempts counted for
	-- tasks that record them), the last progress a handler reported and the OpenTelemetry trace
	-- context of the create: written only when set, NULL otherwise.
	`priority` INT NULL,
	`dedupKey` TEXT NULL,
	`retryBackoff` VARCHAR(255) NULL,
	`retryMaxInterval` DOUBLE NULL,
	`attempts` INT NULL,
	`progress` JSON NULL,
	`traceContext` JSON NULL,
	PRIMARY KEY (`id`),
	-- The connector's queries: a type's tasks by due date, a thread's tasks by due date, tasks by
	-- status, and the retained-task sweep.
	KEY `background_task_type_due` (`type`, `dateNextProcess`, `id`),
	KEY `background_task_thread_due` (`threadId`, `dateNextProcess`, `id`),
	KEY `background_task_status_created` (`status`, `dateCreated`, `id`),
	KEY `background_task_retain` (`retainUntil`)
-- Binary collation: case-sensitive equality and the same order as JavaScript's string comparison.
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
