package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// newSlowlog builds the slow-query service; the query console decides who
// sees examples.
func newSlowlog(cfg config.Slowlog, db *sqldb.DB, inv *inventory.Service, console *query.Service, log *slog.Logger) *slowlog.Service {
	svc := slowlog.NewService(db, inv, log)
	svc.ExplainTimeout = cfg.ExplainTimeout
	svc.BatchRows = cfg.BatchRows
	svc.Examples = slowlogConsole{console}
	return svc
}

// slowlogConsole gives the slow-query service the console's rules: who
// sees examples follows the query grants and masking rules.
type slowlogConsole struct{ q *query.Service }

func (c slowlogConsole) ExampleAccess(ctx context.Context, p auth.Principal, instance string) (slowlog.Access, error) {
	a, err := c.q.StatementAccess(ctx, p, instance)
	if err != nil {
		return slowlog.AccessNone, err
	}
	switch a {
	case query.ExampleFull:
		return slowlog.AccessFull, nil
	case query.ExampleNormalized:
		return slowlog.AccessNormalized, nil
	}
	return slowlog.AccessNone, nil
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
