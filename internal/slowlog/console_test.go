package slowlog_test

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// console is the query console as app wires it (internal/app/slowlog.go):
// who sees examples follows the console's grants and masking rules, and
// EXPLAIN is a console run.
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

func (c console) Explain(ctx context.Context, p auth.Principal, req slowlog.ExplainRequest) (slowlog.ExplainOutput, error) {
	r := query.Request{Instance: req.Instance, Database: req.Database, Statement: req.Statement}
	if req.Timeout > 0 {
		r.Timeout = req.Timeout.String()
	}
	res, err := c.q.Explain(ctx, p, r)
	if err != nil {
		return slowlog.ExplainOutput{}, err
	}
	out := slowlog.ExplainOutput{RanOn: res.RanOn, Rows: res.Rows, Notes: res.Notes, Took: res.Took}
	for _, col := range res.Columns {
		out.Columns = append(out.Columns, col.Name)
	}
	return out, nil
}
