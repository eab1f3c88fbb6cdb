-- +goose Up
-- internal/proxy: the read/write-splitting proxy's listeners (one per
-- cluster, run inside dbfleet serve) and its users, each mapped to a
-- backend account; both passwords sealed with the server's secret key.
CREATE TABLE proxy_listeners (
    id          BIGSERIAL PRIMARY KEY,
    cluster     TEXT    NOT NULL UNIQUE,
    listen      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);

CREATE TABLE proxy_users (
    id               BIGSERIAL PRIMARY KEY,
    cluster          TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    password         TEXT    NOT NULL,
    backend_user     TEXT    NOT NULL,
    backend_password TEXT    NOT NULL,
    max_sessions     INTEGER NOT NULL DEFAULT 0,
    route            TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    UNIQUE (cluster, name)
);

-- +goose Down
DROP TABLE proxy_users;
DROP TABLE proxy_listeners;
