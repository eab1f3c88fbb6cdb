-- +goose Up
-- internal/executor: creating a database or an account is an execution
-- (kind create_database or create_account) recorded like a script's;
-- spec is what it was asked for (JSON, never a password).
ALTER TABLE exec_executions ADD COLUMN kind TEXT NOT NULL DEFAULT 'script';
ALTER TABLE exec_executions ADD COLUMN spec TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE exec_executions DROP COLUMN spec;
ALTER TABLE exec_executions DROP COLUMN kind;
