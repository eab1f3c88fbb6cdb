package merge

import (
	"fmt"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Prepared is what Prepare made of a dataset's single-server SELECT.
type Prepared struct {
	ShardSQL string // what each shard runs (AVG split into SUM/COUNT, LIMIT pushed down as LIMIT offset+limit, ...)
	Plan     Plan
}

// Prepare rewrites a single-server SELECT for a sharded run; an
// unsupported form is an error naming it. dialect is internal/sql's
// Dialect.
//
// The mode follows the query: GROUP BY or aggregates: group (shards sort
// by the group columns, so groups merge as they stream by); ORDER BY:
// ordered; neither: append. Limits are pushed down where the merged
// first rows are among each shard's first rows (see sql.RewriteForShards).
func Prepare(dialect sql.Dialect, text string) (*Prepared, error) {
	q, err := sql.RewriteForShards(dialect, text)
	if err != nil {
		return nil, fmt.Errorf("prepare for shards: %w", err)
	}
	p := Plan{Limit: q.Limit, Offset: q.Offset, Dialect: dialect, Group: q.Group,
		Order: keys(q.Order), InputOrder: keys(q.InputOrder)}
	switch {
	case q.Aggregate:
		p.Mode = Group
	case len(q.Order) > 0:
		p.Mode = Ordered
	default:
		p.Mode = Append
	}
	for _, c := range q.Columns {
		if !c.Hidden {
			p.Columns = append(p.Columns, c.Name)
		}
		if !q.Aggregate || c.Agg == "" || c.Hidden && c.Agg == "count" && isAvgCount(q.Columns, c.Name) {
			continue
		}
		a := Agg{Func: AggFunc(c.Agg), Column: c.Name}
		if a.Func == Avg {
			a.SumColumn, a.CountColumn = c.Name, c.Count
		}
		p.Aggs = append(p.Aggs, a)
	}
	return &Prepared{ShardSQL: q.Text, Plan: p}, nil
}

// isAvgCount reports whether name is the hidden COUNT of an AVG.
func isAvgCount(cols []sql.ShardColumn, name string) bool {
	for _, c := range cols {
		if c.Agg == "avg" && c.Count == name {
			return true
		}
	}
	return false
}

func keys(ks []sql.ShardKey) []Key {
	var out []Key
	for _, k := range ks {
		out = append(out, Key{Column: k.Column, Desc: k.Desc, Nulls: Nulls(k.Nulls)})
	}
	return out
}
