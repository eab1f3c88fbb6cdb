-- +goose Up
-- Report snapshots (internal/reports): a run stored with its parameters
-- and data, on demand or by a report's <snapshot schedule>. run_key is
-- the scheduled firing a snapshot belongs to ('' on demand): one
-- snapshot per firing, however often its job is retried after a restart.
CREATE TABLE report_snapshots (
    id         BIGSERIAL PRIMARY KEY,
    report     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    params     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    rows       INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    run_key    TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX report_snapshots_report ON report_snapshots (report, created_at);
CREATE UNIQUE INDEX report_snapshots_run_key ON report_snapshots (run_key) WHERE run_key <> '';

-- +goose Down
DROP TABLE report_snapshots;
