-- +goose Up
-- internal/query
-- Managed reader accounts, apart from the credentials a DBA sets
-- (query_credentials). Each instance that serves reads has up to two, one
-- per kind: 'grants' (dbfleet_ro_<instance>: what the active query grants
-- name, for principals who read through grants) and 'all'
-- (dbfleet_ra_<instance>: every non-system database, for principals with
-- query.grant). host is the MariaDB/MySQL account's host part; password
-- and next_password are sealed; next_password is a password being set on
-- the server (a rotation in progress) that logins try when the current one
-- is refused; spec is the scope it was last synchronised to and scope what
-- it was granted then; sync_error the last failure.
CREATE TABLE query_readers (
    instance      TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    username      TEXT   NOT NULL,
    host          TEXT   NOT NULL DEFAULT '',
    password      TEXT   NOT NULL DEFAULT '',
    next_password TEXT   NOT NULL DEFAULT '',
    spec          TEXT   NOT NULL DEFAULT '',
    scope         TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    rotated_at    BIGINT NOT NULL,
    synced_at     BIGINT NOT NULL DEFAULT 0,
    sync_error    TEXT   NOT NULL DEFAULT '',
    updated_by    TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (instance, kind)
);

-- +goose Down
DROP TABLE query_readers;
