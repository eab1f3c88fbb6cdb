package app

import (
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
)

// newQuery builds the query console from its configuration.
func newQuery(c config.Query, db *sqldb.DB, box *secret.Box, inv *inventory.Service, engines *engine.Registry, users *auth.Service, log *slog.Logger) (*query.Service, error) {
	return query.NewService(db, box, inv, engines, users, log, query.Options{
		RowLimit:         c.RowLimit,
		RoleRowLimits:    c.RoleRowLimits,
		StatementTimeout: c.StatementTimeout,
		MaxReplicaLag:    c.MaxReplicaLag,
		AllowedFunctions: query.AllowedFunctions{MySQL: c.AllowedFunctions.MySQL, Postgres: c.AllowedFunctions.Postgres},
	})
}
