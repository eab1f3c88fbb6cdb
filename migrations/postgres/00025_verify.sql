-- +goose Up
-- internal/verify: replica consistency checks. A run compares every
-- replica of a cluster with its primary; verify_tables is each table's
-- progress in each pass (pass 2 re-checks after a repair), verify_chunks
-- each chunk's counts and checksums per replica (a run resumes after its
-- last recorded chunk), verify_rows each differing row by its key.
CREATE TABLE verify_runs (
    id            BIGSERIAL PRIMARY KEY,
    cluster       TEXT    NOT NULL,
    options       TEXT    NOT NULL DEFAULT '{}',
    state         TEXT    NOT NULL,
    requested_by  TEXT    NOT NULL DEFAULT '',
    schedule      TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX verify_runs_cluster ON verify_runs (cluster, created_at);

CREATE TABLE verify_tables (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT  NOT NULL REFERENCES verify_runs (id) ON DELETE CASCADE,
    pass         INTEGER NOT NULL,
    schema_name  TEXT    NOT NULL,
    table_name   TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    est_rows     BIGINT  NOT NULL DEFAULT 0,
    error        TEXT    NOT NULL DEFAULT '',
    updated_at   BIGINT  NOT NULL,
    UNIQUE (run_id, pass, schema_name, table_name)
);

CREATE TABLE verify_chunks (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT  NOT NULL REFERENCES verify_runs (id) ON DELETE CASCADE,
    pass         INTEGER NOT NULL,
    replica      TEXT    NOT NULL,
    schema_name  TEXT    NOT NULL,
    table_name   TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    lower_key    TEXT    NOT NULL DEFAULT '',
    upper_key    TEXT    NOT NULL DEFAULT '',
    gtid         TEXT    NOT NULL DEFAULT '',
    primary_rows BIGINT  NOT NULL,
    replica_rows BIGINT  NOT NULL,
    primary_sum  TEXT    NOT NULL,
    replica_sum  TEXT    NOT NULL,
    differs      BOOLEAN NOT NULL,
    checked_at   BIGINT  NOT NULL,
    UNIQUE (run_id, pass, replica, schema_name, table_name, idx)
);
CREATE INDEX verify_chunks_differs ON verify_chunks (run_id, differs);

CREATE TABLE verify_rows (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT  NOT NULL REFERENCES verify_runs (id) ON DELETE CASCADE,
    pass         INTEGER NOT NULL,
    replica      TEXT    NOT NULL,
    schema_name  TEXT    NOT NULL,
    table_name   TEXT    NOT NULL,
    chunk_idx    INTEGER NOT NULL,
    row_key      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    repaired     BOOLEAN NOT NULL DEFAULT FALSE,
    repair_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX verify_rows_run ON verify_rows (run_id, pass);

-- +goose Down
DROP TABLE verify_rows;
DROP TABLE verify_chunks;
DROP TABLE verify_tables;
DROP TABLE verify_runs;
