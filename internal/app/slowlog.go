package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// newSlowlog builds the slow-query service; the query console decides who
// sees examples and runs EXPLAIN of them.
func newSlowlog(cfg slowlog.Config, db *sqldb.DB, inv *inventory.Service, console *query.Service, log *slog.Logger) *slowlog.Service {
	svc := slowlog.NewService(db, inv, log)
	svc.Configure(cfg)
	svc.Examples = slowlogConsole{console}
	svc.Explainer = slowlogConsole{console}
	return svc
}

// slowlogConsole gives the slow-query service the console's rules: who
// sees examples follows the query grants and masking rules, and EXPLAIN of
// an example is a console run for the caller.
type slowlogConsole struct{ q *query.Service }

// Explain runs EXPLAIN of the example in the console as p
// (query.Service.Explain wraps it in a tabular EXPLAIN in its syntax
// tree): its checks, grants, masking, statement timeout, re-rendering,
// account and audit.
func (c slowlogConsole) Explain(ctx context.Context, p auth.Principal, req slowlog.ExplainRequest) (slowlog.ExplainOutput, error) {
	r := query.Request{Instance: req.Instance, Database: req.Database, Statement: req.Statement}
	if req.Timeout > 0 {
		r.Timeout = req.Timeout.String()
	}
	res, err := c.q.Explain(ctx, p, r)
	if err != nil {
		return slowlog.ExplainOutput{}, err
	}
	out := slowlog.ExplainOutput{RanOn: res.RanOn, Rows: res.Rows, Notes: res.Notes, Took: res.Took, Columns: make([]string, len(res.Columns))}
	for i, col := range res.Columns {
		out.Columns[i] = col.Name
	}
	return out, nil
}

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
func slowlogLoops(cfg slowlog.Config, leases *lease.Manager, svc *slowlog.Service, inv *inventory.Service, log *slog.Logger) []struct {
	name string
	run  func(context.Context) error
} {
	c := cfg.Collector(svc, inv, log)
	if c == nil {
		return nil
	}
	return []struct {
		name string
		run  func(context.Context) error
	}{{"slow-query collector", func(ctx context.Context) error { return leases.Run(ctx, "slowlog.collect", c.Run) }}}
}
