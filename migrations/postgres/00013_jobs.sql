-- +goose Up
-- platform/jobs: a durable job queue. A worker claims a job by setting
-- locked_by and locked_until (its lease) and extends the lease while the job
-- runs (heartbeat); a job whose lease expired is claimed again.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    dedupe_key   TEXT,
    lock_key     TEXT    NOT NULL DEFAULT '',
    payload      TEXT    NOT NULL DEFAULT '{}',
    state        TEXT    NOT NULL,
    run_at       BIGINT  NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    locked_by    TEXT    NOT NULL DEFAULT '',
    locked_until BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lock_key ON jobs (lock_key, state);
-- At most one queued job per dedupe key (a scheduled run, a ticket's wake-up).
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE state = 'queued';

-- platform/jobs cron: when each schedule last fired.
CREATE TABLE job_schedules (
    name        TEXT   PRIMARY KEY,
    spec        TEXT   NOT NULL,
    last_run_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE job_schedules;
DROP TABLE jobs;
