-- +goose Up
-- internal/health: health scores (0-100) per instance, each with the
-- deductions that explain it. Keyed by the inventory's instance names;
-- inventory's tables are not touched. kind is 'now' (every minute, last
-- 30 minutes) or 'daily'.
CREATE TABLE health_scores (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT   NOT NULL,
    engine   TEXT   NOT NULL DEFAULT '',
    cluster  TEXT   NOT NULL DEFAULT '',
    kind     TEXT   NOT NULL,
    computed_at BIGINT NOT NULL,
    score    DOUBLE PRECISION NOT NULL,
    level    TEXT   NOT NULL,
    skipped  TEXT   NOT NULL DEFAULT '[]',
    inputs   TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX health_scores_instance ON health_scores (instance, kind, computed_at);
CREATE INDEX health_scores_at ON health_scores (kind, computed_at);

CREATE TABLE health_deductions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    score_id  INTEGER NOT NULL REFERENCES health_scores (id) ON DELETE CASCADE,
    rule      TEXT   NOT NULL,
    item      TEXT   NOT NULL,
    title     TEXT   NOT NULL DEFAULT '',
    category  TEXT   NOT NULL,
    severity  TEXT   NOT NULL,
    observed  DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    op        TEXT   NOT NULL DEFAULT '>',
    points    DOUBLE PRECISION NOT NULL,
    unit      TEXT   NOT NULL DEFAULT '',
    message   TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX health_deductions_score ON health_deductions (score_id);

-- +goose Down
DROP TABLE health_deductions;
DROP TABLE health_scores;
