-- +goose Up
-- internal/inventory: at most one declared primary per cluster, also when
-- two requests race past the service's own check.
CREATE UNIQUE INDEX instances_one_primary ON instances (cluster_id) WHERE role = 'primary';

-- +goose Down
DROP INDEX instances_one_primary;
