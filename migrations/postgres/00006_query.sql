-- +goose Up
-- internal/query
-- Who may query what: a user or a role, on an instance, optionally one
-- database, optionally one table of it ('' means all). Expired grants stay
-- for the record and are not enforced.
CREATE TABLE query_grants (
    id           BIGSERIAL PRIMARY KEY,
    subject_kind TEXT    NOT NULL,            -- user or role
    subject      TEXT    NOT NULL,
    instance     TEXT    NOT NULL,
    db           TEXT    NOT NULL DEFAULT '',
    tbl          TEXT    NOT NULL DEFAULT '',
    expires_at   BIGINT,
    reason       TEXT    NOT NULL DEFAULT '',
    granted_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    UNIQUE (subject_kind, subject, instance, db, tbl)
);
CREATE INDEX query_grants_instance ON query_grants (instance);

-- Masking rules: globs on instance ('' any), database, table and column.
CREATE TABLE query_masks (
    id         BIGSERIAL PRIMARY KEY,
    instance   TEXT    NOT NULL DEFAULT '',
    db         TEXT    NOT NULL DEFAULT '',
    tbl        TEXT    NOT NULL DEFAULT '',
    col        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    keep_first INTEGER NOT NULL DEFAULT 0,
    keep_last  INTEGER NOT NULL DEFAULT 0,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (instance, db, tbl, col)
);

-- Optional read-only account per instance for the query console; the
-- password is sealed like the inventory's.
CREATE TABLE query_credentials (
    instance   TEXT   PRIMARY KEY,
    username   TEXT   NOT NULL,
    password   TEXT   NOT NULL,
    updated_by TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE query_credentials;
DROP TABLE query_masks;
DROP TABLE query_grants;
