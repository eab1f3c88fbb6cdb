-- +goose Up
-- internal/query
-- Managed reader accounts: a query_credentials row is either set by a DBA
-- (managed = FALSE, as before) or created, synchronised and rotated by
-- dbfleet (managed = TRUE). For a managed reader: host is the MariaDB/MySQL
-- account's host part; next_password (sealed) is a password being set on
-- the server (a rotation in progress) that logins try when the current one
-- is refused; spec is the grants-derived scope it was last synchronised to
-- and scope what it was granted then; sync_error the last failure.
ALTER TABLE query_credentials ADD COLUMN managed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE query_credentials ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE query_credentials ADD COLUMN next_password TEXT NOT NULL DEFAULT '';
ALTER TABLE query_credentials ADD COLUMN spec TEXT NOT NULL DEFAULT '';
ALTER TABLE query_credentials ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE query_credentials ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE query_credentials ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE query_credentials ADD COLUMN synced_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE query_credentials ADD COLUMN sync_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE query_credentials DROP COLUMN sync_error;
ALTER TABLE query_credentials DROP COLUMN synced_at;
ALTER TABLE query_credentials DROP COLUMN rotated_at;
ALTER TABLE query_credentials DROP COLUMN created_at;
ALTER TABLE query_credentials DROP COLUMN scope;
ALTER TABLE query_credentials DROP COLUMN spec;
ALTER TABLE query_credentials DROP COLUMN next_password;
ALTER TABLE query_credentials DROP COLUMN host;
ALTER TABLE query_credentials DROP COLUMN managed;
