package app

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/query"
)

// queryVisibility lets a caller see the metrics of the database objects
// their query grants cover (metrics.Visibility): everything with
// query.grant (DBAs, admins), what their unexpired grants cover with
// query.run, nothing without it (viewers).
type queryVisibility struct{ q *query.Service }

func (v queryVisibility) Scopes(ctx context.Context, p auth.Principal) (bool, []metrics.Scope, error) {
	if p.Can(auth.QueryGrant) {
		return true, nil, nil
	}
	if !p.Can(auth.QueryRun) {
		return false, nil, nil
	}
	gs, err := v.q.ListGrants(ctx, p, query.GrantFilter{})
	if err != nil {
		return false, nil, err
	}
	scopes := make([]metrics.Scope, len(gs))
	for i, g := range gs {
		scopes[i] = metrics.Scope{Instance: g.Instance, Database: g.Database, Table: g.Table}
	}
	return false, scopes, nil
}

// queryReaderLoop keeps the query console's reader accounts in line with
// the grants and rotates their passwords, on the holder of the
// query.reader lease.
func queryReaderLoop(leases *lease.Manager, svc *query.Service) struct {
	name string
	run  func(context.Context) error
} {
	l := &query.ReaderLoop{Service: svc}
	return struct {
		name string
		run  func(context.Context) error
	}{"query reader", func(ctx context.Context) error { return leases.Run(ctx, "query.reader", l.Run) }}
}
