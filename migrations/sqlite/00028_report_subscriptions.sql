-- +goose Up
-- Report subscriptions (internal/reports): a user's report, parameters,
-- schedule and notification channel. The last delivery's outcome is kept
-- on the row (sent, skipped when empty, failed with its error).
CREATE TABLE report_subscriptions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    report      TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    owner_role  TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    schedule    TEXT    NOT NULL,
    params      TEXT    NOT NULL,
    attach      TEXT    NOT NULL DEFAULT '',
    skip_empty  BOOLEAN NOT NULL DEFAULT FALSE,
    last_state  TEXT    NOT NULL DEFAULT '',
    last_error  TEXT    NOT NULL DEFAULT '',
    last_at     BIGINT  NOT NULL DEFAULT 0,
    deliveries  INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX report_subscriptions_report ON report_subscriptions (report);

-- +goose Down
DROP TABLE report_subscriptions;
