-- +goose Up
-- internal/flows: work orders run SQL only through internal/executor now,
-- which records every statement itself. The statements a ticket shows move
-- into the result of their execute step (its "statement_states", as the
-- ticket view reads them), and ticket_statements (the journal of the
-- executor work orders had before, and a copy of the executor's) goes.
UPDATE ticket_steps SET result = jsonb_set(result::jsonb, '{statement_states}', (
    SELECT jsonb_agg(jsonb_build_object(
        'index', s.idx, 'line', s.line, 'sql', s.sql_text, 'state', s.state, 'rows_affected', s.rows_affected,
        'started_at', to_char(to_timestamp(s.started_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'finished_at', to_char(to_timestamp(s.finished_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'error', s.error) ORDER BY s.idx)
    FROM ticket_statements s WHERE s.ticket_id = ticket_steps.ticket_id AND s.step_idx = ticket_steps.idx))::text
WHERE EXISTS (SELECT 1 FROM ticket_statements s WHERE s.ticket_id = ticket_steps.ticket_id AND s.step_idx = ticket_steps.idx);
DROP TABLE ticket_statements;

-- +goose Down
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
