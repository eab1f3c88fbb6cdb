-- +goose Up
-- internal/executor: exec_executions.ref becomes an idempotency key,
-- unique when set. Refs were free text before: where several executions
-- shared one, the newest keeps it (it is the one a work-order step would
-- have found) and the older ones get theirs with "#<id>" appended.
UPDATE exec_executions SET ref = ref || '#' || id
WHERE ref <> '' AND id < (SELECT MAX(e.id) FROM exec_executions e WHERE e.ref = exec_executions.ref);
DROP INDEX exec_executions_ref;
CREATE UNIQUE INDEX exec_executions_key ON exec_executions (ref) WHERE ref <> '';

-- +goose Down
DROP INDEX exec_executions_key;
CREATE INDEX exec_executions_ref ON exec_executions (ref);
