-- +goose Up
-- internal/alerts: on-call overrides added at run time (API, CLI, UI) on
-- top of the teams' rotations and overrides in the configuration.
CREATE TABLE alert_oncall_overrides (
    id         BIGSERIAL PRIMARY KEY,
    team       TEXT   NOT NULL,
    person     TEXT   NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    comment    TEXT   NOT NULL DEFAULT '',
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_oncall_overrides_ends ON alert_oncall_overrides (ends_at);

-- +goose Down
DROP TABLE alert_oncall_overrides;
