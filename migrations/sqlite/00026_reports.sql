-- +goose Up
-- Reports declared in XML (internal/reports): every version of a report
-- file that loaded, so a run names the version it ran.
CREATE TABLE report_versions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    report     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    file       TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (report, version),
    UNIQUE (report, hash)
);

-- +goose Down
DROP TABLE report_versions;
