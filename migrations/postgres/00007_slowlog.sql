-- +goose Up
-- internal/slowlog: slow-query classes per instance, their aggregates per
-- time bucket (never single events), where each source stands, and the
-- last cumulative counters of digest tables (to compute deltas).
CREATE TABLE slowlog_classes (
    id                 BIGSERIAL PRIMARY KEY,
    instance_id        BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    query_id           TEXT    NOT NULL,
    fingerprint        TEXT    NOT NULL,
    distillate         TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL DEFAULT '',
    example            TEXT    NOT NULL DEFAULT '',
    example_db         TEXT    NOT NULL DEFAULT '',
    example_at         BIGINT  NOT NULL DEFAULT 0,
    example_query_time DOUBLE PRECISION NOT NULL DEFAULT 0,
    first_seen         BIGINT  NOT NULL,
    last_seen          BIGINT  NOT NULL,
    UNIQUE (instance_id, query_id)
);

CREATE TABLE slowlog_buckets (
    class_id       BIGINT  NOT NULL REFERENCES slowlog_classes (id) ON DELETE CASCADE,
    bucket_start   BIGINT  NOT NULL,
    calls          BIGINT  NOT NULL,
    query_time     DOUBLE PRECISION NOT NULL,
    query_time_min DOUBLE PRECISION NOT NULL,
    query_time_max DOUBLE PRECISION NOT NULL,
    lock_time      DOUBLE PRECISION NOT NULL DEFAULT 0,
    rows_sent      BIGINT  NOT NULL DEFAULT 0,
    rows_examined  BIGINT  NOT NULL DEFAULT 0,
    rows_affected  BIGINT  NOT NULL DEFAULT 0,
    bytes_sent     BIGINT  NOT NULL DEFAULT 0,
    histogram      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (class_id, bucket_start)
);
CREATE INDEX slowlog_buckets_start ON slowlog_buckets (bucket_start);

CREATE TABLE slowlog_sources (
    instance_id BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    source      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    message     TEXT    NOT NULL DEFAULT '',
    position    TEXT    NOT NULL DEFAULT '',
    checked_at  BIGINT  NOT NULL,
    last_ok_at  BIGINT  NOT NULL DEFAULT 0,
    events      BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, source)
);

CREATE TABLE slowlog_counters (
    instance_id   BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    source        TEXT    NOT NULL,
    digest        TEXT    NOT NULL,
    calls         BIGINT  NOT NULL,
    query_time    DOUBLE PRECISION NOT NULL,
    query_time_max DOUBLE PRECISION NOT NULL DEFAULT 0,
    lock_time     DOUBLE PRECISION NOT NULL DEFAULT 0,
    rows_sent     BIGINT  NOT NULL DEFAULT 0,
    rows_examined BIGINT  NOT NULL DEFAULT 0,
    rows_affected BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (instance_id, source, digest)
);

-- +goose Down
DROP TABLE slowlog_counters;
DROP TABLE slowlog_sources;
DROP TABLE slowlog_buckets;
DROP TABLE slowlog_classes;
