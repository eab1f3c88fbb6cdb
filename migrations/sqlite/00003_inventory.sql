-- +goose Up
-- internal/inventory
CREATE TABLE hosts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    address      TEXT    NOT NULL,
    rack         TEXT    NOT NULL DEFAULT '',
    zone         TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',
    cores        INTEGER NOT NULL DEFAULT 0,
    memory_bytes BIGINT  NOT NULL DEFAULT 0,
    disk_bytes   BIGINT  NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE clusters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT   NOT NULL UNIQUE,
    engine     TEXT   NOT NULL,
    env        TEXT   NOT NULL,
    business   TEXT   NOT NULL DEFAULT '',
    labels     TEXT   NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE instances (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    engine     TEXT    NOT NULL,
    host_id    INTEGER NOT NULL REFERENCES hosts (id),
    port       INTEGER NOT NULL,
    username   TEXT    NOT NULL DEFAULT '',
    password   TEXT    NOT NULL DEFAULT '',
    cluster_id INTEGER REFERENCES clusters (id),
    role       TEXT    NOT NULL DEFAULT '',
    labels     TEXT    NOT NULL DEFAULT '{}',
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    UNIQUE (host_id, port)
);
CREATE INDEX instances_cluster ON instances (cluster_id);

-- Last observed state of each instance (probe loop and `instance check`).
CREATE TABLE instance_status (
    instance_id INTEGER PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    checked_at  BIGINT  NOT NULL,
    up          BOOLEAN NOT NULL,
    version     TEXT    NOT NULL DEFAULT '',
    uptime_s    BIGINT  NOT NULL DEFAULT 0,
    role        TEXT    NOT NULL DEFAULT '',
    read_only   BOOLEAN NOT NULL DEFAULT FALSE,
    source      TEXT    NOT NULL DEFAULT '',
    io_running  BOOLEAN NOT NULL DEFAULT FALSE,
    sql_running BOOLEAN NOT NULL DEFAULT FALSE,
    lag_seconds DOUBLE PRECISION,
    replicas    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
);

-- Data-source groups: explicit members and/or a selector.
CREATE TABLE source_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL DEFAULT '',
    selector    TEXT   NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE source_group_members (
    group_id    INTEGER NOT NULL REFERENCES source_groups (id) ON DELETE CASCADE,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, instance_id)
);

-- Shard maps: a logical database split over instances.
CREATE TABLE shard_maps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL UNIQUE,
    logical_db  TEXT   NOT NULL,
    shard_key   TEXT   NOT NULL DEFAULT '',
    strategy    TEXT   NOT NULL DEFAULT '',
    description TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE shards (
    map_id      INTEGER NOT NULL REFERENCES shard_maps (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    db_name     TEXT    NOT NULL,
    PRIMARY KEY (map_id, idx)
);
CREATE INDEX shards_instance ON shards (instance_id);

-- +goose Down
DROP TABLE shards;
DROP TABLE shard_maps;
DROP TABLE source_group_members;
DROP TABLE source_groups;
DROP TABLE instance_status;
DROP TABLE instances;
DROP TABLE clusters;
DROP TABLE hosts;
