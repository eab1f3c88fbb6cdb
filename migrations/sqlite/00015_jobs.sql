-- +goose Up
-- platform/jobs: a worker that dies while running a job (its lease runs out
-- without a result) is counted apart from ordinary failures; after a few
-- such deaths the job is quarantined instead of being run again.
ALTER TABLE jobs ADD COLUMN deaths INTEGER NOT NULL DEFAULT 0;
-- When the current (or last) holder claimed the job, on the store's clock.
ALTER TABLE jobs ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN claimed_at;
ALTER TABLE jobs DROP COLUMN deaths;
