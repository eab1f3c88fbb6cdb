-- +goose Up
-- internal/ha: per-cluster HA settings, per-instance promotion rules, and
-- recoveries (failovers and switchovers) with their steps. Keyed by the
-- inventory's cluster and instance names; inventory's tables are not
-- touched.
CREATE TABLE ha_settings (
    cluster       TEXT   PRIMARY KEY,
    mode          TEXT   NOT NULL DEFAULT 'off',
    max_lag_ms    BIGINT NOT NULL DEFAULT 0,
    anti_flap_ms  BIGINT NOT NULL DEFAULT 3600000,
    hooks         TEXT   NOT NULL DEFAULT '{}',
    repl_user     TEXT   NOT NULL DEFAULT '',
    repl_password TEXT   NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL
);

CREATE TABLE ha_promotion_rules (
    instance   TEXT   PRIMARY KEY,
    rule       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ha_recoveries (
    id            BIGSERIAL PRIMARY KEY,
    cluster       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    origin        TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    old_primary   TEXT    NOT NULL DEFAULT '',
    new_primary   TEXT    NOT NULL DEFAULT '',
    diagnosis     TEXT    NOT NULL DEFAULT '',
    plan          TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    next_steps    TEXT    NOT NULL DEFAULT '[]',
    fence_pending BOOLEAN NOT NULL DEFAULT FALSE,
    started_by    TEXT    NOT NULL,
    holder        TEXT    NOT NULL DEFAULT '',
    started_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    ended_at      BIGINT,
    acked_by      TEXT    NOT NULL DEFAULT '',
    acked_at      BIGINT,
    ack_comment   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ha_recoveries_cluster ON ha_recoveries (cluster, id);
-- At most one recovery of a cluster runs at a time, whichever process
-- starts it.
CREATE UNIQUE INDEX ha_recoveries_one_running ON ha_recoveries (cluster) WHERE state = 'running';

CREATE TABLE ha_recovery_steps (
    recovery_id BIGINT  NOT NULL REFERENCES ha_recoveries (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    instance    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    started_at  BIGINT  NOT NULL,
    took_ms     BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (recovery_id, seq)
);

-- +goose Down
DROP TABLE ha_recovery_steps;
DROP TABLE ha_recoveries;
DROP TABLE ha_promotion_rules;
DROP TABLE ha_settings;
