package slowlog_test

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// console is the query console as app wires it (internal/app/slowlog.go):
// who sees examples follows the console's grants and masking rules.
type console struct{ q *query.Service }

func (c console) ExampleAccess(ctx context.Context, p auth.Principal, instance string) (slowlog.Access, error) {
	a, err := c.q.StatementAccess(ctx, p, instance)
	switch {
	case err != nil:
		return slowlog.AccessNone, err
	case a == query.ExampleFull:
		return slowlog.AccessFull, nil
	case a == query.ExampleNormalized:
		return slowlog.AccessNormalized, nil
	}
	return slowlog.AccessNone, nil
}
