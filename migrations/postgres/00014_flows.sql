-- +goose Up
-- internal/flows: flow versions, tickets and everything a ticket records.

-- Every distinct content of a flow file, numbered per flow. A ticket keeps
-- the version it started with, so editing a file never changes it.
CREATE TABLE flow_versions (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    file       TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, hash)
);

CREATE TABLE tickets (
    id              BIGSERIAL PRIMARY KEY,
    flow            TEXT    NOT NULL,
    flow_version_id BIGINT  NOT NULL REFERENCES flow_versions (id),
    title           TEXT    NOT NULL,
    requester       TEXT    NOT NULL DEFAULT '',
    requester_role  TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    step            INTEGER NOT NULL DEFAULT 0,
    form            TEXT    NOT NULL DEFAULT '{}',
    target          TEXT    NOT NULL DEFAULT '{}',
    env             TEXT    NOT NULL DEFAULT '',
    error           TEXT    NOT NULL DEFAULT '',
    manual_steps    INTEGER NOT NULL DEFAULT 0,
    scheduled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    done_at         BIGINT
);
CREATE INDEX tickets_state ON tickets (state, id);
CREATE INDEX tickets_requester ON tickets (requester, id);
CREATE INDEX tickets_flow ON tickets (flow, id);

-- One row per step of a ticket, written before the step runs and when it
-- ends, so a restarted server knows what ran.
CREATE TABLE ticket_steps (
    ticket_id   BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    step_id     TEXT    NOT NULL,
    block       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  BIGINT,
    finished_at BIGINT,
    result      TEXT    NOT NULL DEFAULT '{}',
    error       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (ticket_id, idx)
);

-- The execution journal: each statement is recorded as running before it
-- is sent and as done (with its result) before the next one starts.
CREATE TABLE ticket_statements (
    ticket_id     BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step_idx      INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    line          INTEGER NOT NULL DEFAULT 0,
    sql_text      TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    txid          TEXT    NOT NULL DEFAULT '',
    rows_affected BIGINT  NOT NULL DEFAULT 0,
    started_at    BIGINT,
    finished_at   BIGINT,
    error         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (ticket_id, step_idx, idx)
);

CREATE TABLE ticket_approvals (
    ticket_id BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step_idx  INTEGER NOT NULL,
    approver  TEXT    NOT NULL,
    decision  TEXT    NOT NULL,
    comment   TEXT    NOT NULL DEFAULT '',
    via       TEXT    NOT NULL DEFAULT '',
    at        BIGINT  NOT NULL,
    PRIMARY KEY (ticket_id, step_idx, approver)
);

-- The timeline: who did what, when.
CREATE TABLE ticket_events (
    id        BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    step_idx  INTEGER,
    message   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- Files a ticket produced (export CSVs).
CREATE TABLE ticket_attachments (
    id           BIGSERIAL PRIMARY KEY,
    ticket_id    BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step_idx     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    rows_count   BIGINT  NOT NULL DEFAULT 0,
    content      BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    UNIQUE (ticket_id, step_idx)
);

-- Signed approval links: single use.
CREATE TABLE ticket_links (
    nonce      TEXT    PRIMARY KEY,
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step_idx   INTEGER NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    used_by    TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);

-- Generated account passwords: never stored. A random salt lets the server
-- derive the password (with its key) until the requester has seen it once;
-- then the salt is erased and only a hash of the password stays.
CREATE TABLE ticket_secrets (
    ticket_id   BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    step_idx    INTEGER NOT NULL,
    account     TEXT    NOT NULL,
    salt        TEXT    NOT NULL DEFAULT '',
    hash        TEXT    NOT NULL DEFAULT '',
    revealed_at BIGINT,
    revealed_by TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (ticket_id, step_idx)
);

-- +goose Down
DROP TABLE ticket_secrets;
DROP TABLE ticket_links;
DROP TABLE ticket_attachments;
DROP TABLE ticket_events;
DROP TABLE ticket_approvals;
DROP TABLE ticket_statements;
DROP TABLE ticket_steps;
DROP TABLE tickets;
DROP TABLE flow_versions;
