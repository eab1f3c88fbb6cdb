-- +goose Up
-- platform/lease: who runs each singleton loop.
CREATE TABLE leases (
    name        TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
