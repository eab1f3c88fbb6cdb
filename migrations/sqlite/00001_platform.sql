-- +goose Up
-- platform: key/value facts about this store (e.g. the secret-key check value).
CREATE TABLE platform_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- platform/audit
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    addr   TEXT    NOT NULL DEFAULT '',
    action TEXT    NOT NULL,
    target TEXT    NOT NULL DEFAULT '',
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE platform_meta;
