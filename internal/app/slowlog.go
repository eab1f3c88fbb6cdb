package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// newSlowlog builds the slow-query service.
func newSlowlog(cfg config.Slowlog, db *sqldb.DB, inv *inventory.Service, log *slog.Logger) *slowlog.Service {
	svc := slowlog.NewService(db, inv, log)
	svc.ExplainTimeout = cfg.ExplainTimeout
	svc.BatchRows = cfg.BatchRows
	return svc
}

// slowlogLoops is the collection loop, under a lease, when enabled.
func slowlogLoops(cfg config.Slowlog, leases *lease.Manager, svc *slowlog.Service, inv *inventory.Service, log *slog.Logger) []struct {
	name string
	run  func(context.Context) error
} {
	if !cfg.Collect {
		return nil
	}
	c := &slowlog.Collector{Service: svc, Inventory: inv, Interval: cfg.CollectInterval, Timeout: cfg.CollectTimeout,
		Concurrency: cfg.CollectConcurrency, Retention: cfg.Retention, Log: log}
	return []struct {
		name string
		run  func(context.Context) error
	}{{"slow-query collector", func(ctx context.Context) error { return leases.Run(ctx, "slowlog.collect", c.Run) }}}
}
