-- +goose Up
-- internal/alerts: the pipeline's state (one JSON snapshot, saved with the
-- messages it produced in one transaction: the notification log), the
-- outgoing messages (outbox and history), platform events waiting for the
-- pipeline, silences and acknowledgements.
CREATE TABLE alert_state (
    id         BIGINT PRIMARY KEY,
    body       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE alert_messages (
    id              BIGSERIAL PRIMARY KEY,
    dedup_key       TEXT    NOT NULL UNIQUE,
    seq             BIGINT  NOT NULL,
    recipient       TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    segments        INTEGER NOT NULL DEFAULT 0,
    digest          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX alert_messages_due ON alert_messages (state, next_attempt_at);
CREATE INDEX alert_messages_recipient ON alert_messages (recipient, created_at);
CREATE INDEX alert_messages_seq ON alert_messages (seq);

CREATE TABLE alert_events (
    id         BIGSERIAL PRIMARY KEY,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE alert_silences (
    id         BIGSERIAL PRIMARY KEY,
    matchers   TEXT   NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    comment    TEXT   NOT NULL DEFAULT '',
    source     TEXT   NOT NULL DEFAULT 'user',
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);
CREATE INDEX alert_silences_source ON alert_silences (source);

CREATE TABLE alert_acks (
    group_key TEXT   PRIMARY KEY,
    acked_by  TEXT   NOT NULL,
    acked_at  BIGINT NOT NULL,
    via       TEXT   NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE alert_acks;
DROP TABLE alert_silences;
DROP TABLE alert_events;
DROP TABLE alert_messages;
DROP TABLE alert_state;
