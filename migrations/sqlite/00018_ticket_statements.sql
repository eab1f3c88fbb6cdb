-- +goose Up
-- internal/flows: work orders run SQL only through internal/executor now,
-- which records every statement itself. The statements a ticket shows move
-- into the result of their execute step (its "statement_states", as the
-- ticket view reads them), and ticket_statements (the journal of the
-- executor work orders had before, and a copy of the executor's) goes.
UPDATE ticket_steps SET result = json_set(CASE WHEN json_valid(result) THEN result ELSE '{}' END, '$.statement_states', json((
    SELECT json_group_array(json_object(
        'index', s.idx, 'line', s.line, 'sql', s.sql_text, 'state', s.state, 'rows_affected', s.rows_affected,
        'started_at', CASE WHEN s.started_at IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', s.started_at / 1000.0, 'unixepoch') END,
        'finished_at', CASE WHEN s.finished_at IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', s.finished_at / 1000.0, 'unixepoch') END,
        'error', s.error))
    FROM (SELECT * FROM ticket_statements WHERE ticket_id = ticket_steps.ticket_id AND step_idx = ticket_steps.idx ORDER BY idx) s)))
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
