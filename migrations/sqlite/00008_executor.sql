-- +goose Up
-- internal/executor: executions of SQL scripts on instances, each
-- statement's outcome, and the transaction units (chunks) with the
-- rollback SQL generated from their before-images.
CREATE TABLE exec_executions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance         TEXT    NOT NULL,
    database_name    TEXT    NOT NULL DEFAULT '',
    engine           TEXT    NOT NULL,
    script           TEXT    NOT NULL,
    options          TEXT    NOT NULL DEFAULT '{}',
    dry_run          BOOLEAN NOT NULL DEFAULT FALSE,
    state            TEXT    NOT NULL,
    requested_by     TEXT    NOT NULL DEFAULT '',
    ref              TEXT    NOT NULL DEFAULT '',
    rollback_of      BIGINT  REFERENCES exec_executions (id),
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    throttle         TEXT    NOT NULL DEFAULT '',
    error            TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX exec_executions_state ON exec_executions (state);
CREATE INDEX exec_executions_ref ON exec_executions (ref);

CREATE TABLE exec_statements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  BIGINT  NOT NULL REFERENCES exec_executions (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    line          INTEGER NOT NULL,
    col           INTEGER NOT NULL,
    sql_text      TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    plan          TEXT    NOT NULL DEFAULT '{}',
    rows_affected BIGINT  NOT NULL DEFAULT 0,
    chunks        INTEGER NOT NULL DEFAULT 0,
    note          TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    rollback_sql  TEXT    NOT NULL DEFAULT '',
    rollback_note TEXT    NOT NULL DEFAULT '',
    started_at    BIGINT,
    finished_at   BIGINT,
    UNIQUE (execution_id, seq)
);

CREATE TABLE exec_units (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id  BIGINT  NOT NULL REFERENCES exec_statements (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    lower_bound   TEXT    NOT NULL DEFAULT '',
    upper_bound   TEXT    NOT NULL DEFAULT '',
    rows_affected BIGINT  NOT NULL DEFAULT 0,
    image_rows    BIGINT  NOT NULL DEFAULT 0,
    rollback_sql  TEXT    NOT NULL DEFAULT '',
    binlog_from   TEXT    NOT NULL DEFAULT '',
    binlog_gtid   TEXT    NOT NULL DEFAULT '',
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT,
    UNIQUE (statement_id, seq)
);

-- +goose Down
DROP TABLE exec_units;
DROP TABLE exec_statements;
DROP TABLE exec_executions;
