package sql

import (
	"fmt"
	"slices"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// ShardQuery is a SELECT rewritten to run on every shard of a sharded
// data source, with what merging the shards' results needs to give the
// single-server query's result (internal/reports/merge reads it).
type ShardQuery struct {
	// Text is the per-shard statement, rendered from the rewritten tree:
	// AVG(x) as SUM(x) plus a hidden COUNT(x); GROUP BY and ORDER BY
	// expressions that are not selected added as hidden columns; for a
	// GROUP BY, an ORDER BY on the group columns so the groups can be
	// merged as they stream by; LIMIT o, n as LIMIT o+n when that is
	// safe, none otherwise.
	Text string
	// Columns are the single-server result's columns in order, then the
	// hidden helper columns. Nil for SELECT * (the names are the
	// server's).
	Columns []ShardColumn
	// Aggregate: a GROUP BY or an aggregate in the select list.
	Aggregate bool
	// Group names the GROUP BY columns.
	Group []string
	// Order is the single-server query's ORDER BY (for a GROUP BY
	// without one: the group columns, the order MariaDB gives).
	Order []ShardKey
	// InputOrder is the order each shard's rows come in, when Text
	// orders them for the merge (GROUP BY: the group columns).
	InputOrder []ShardKey
	// Limit (-1: none) and Offset are the single-server query's.
	Limit, Offset int64
	// PushedLimit: Text holds LIMIT Offset+Limit.
	PushedLimit bool
}

// ShardColumn is one column of a ShardQuery's per-shard result.
type ShardColumn struct {
	Name string
	// Agg is the aggregate the column holds: "" (none), sum, count, min,
	// max or avg (then the column holds the shard's SUM and Count names
	// the hidden column with its COUNT).
	Agg    string
	Count  string
	Hidden bool
}

// ShardKey is one ORDER BY key by column name. Nulls is "", "first" or
// "last" (NULLS FIRST/LAST as written).
type ShardKey struct {
	Column string
	Desc   bool
	Nulls  string
}

// hiddenPrefix names the helper columns the rewrite adds.
const hiddenPrefix = "__dbfleet_"

// mergeable are the aggregates a merge can recombine.
var mergeable = map[string]bool{"sum": true, "count": true, "min": true, "max": true, "avg": true}

// shardTree is a dialect's SELECT tree under rewrite.
type shardTree interface {
	// columns are the select list's columns so far (hidden ones added).
	columns() []ShardColumn
	// groupItems and orderItems are the clauses' items.
	groupItems() int
	orderItems() ([]ShardKey, error) // Column empty: resolve item i
	// resolveGroup and resolveOrder name item i's column, adding a hidden
	// column for an expression that is not selected.
	resolveGroup(i int) (string, error)
	resolveOrder(i int) (string, error)
	// limit reads LIMIT and OFFSET (-1: no limit).
	limit() (int64, int64, error)
	// rewriteAvg turns each AVG into SUM plus a hidden COUNT.
	rewriteAvg() error
	// orderByGroup makes the shard's ORDER BY the GROUP BY's items.
	orderByGroup()
	// setLimit sets the shard's LIMIT to n rows (-1: none), no offset.
	setLimit(n int64)
	render() (string, error)
}

// RewriteForShards parses a single-server SELECT and rewrites it to run
// on each shard of a sharded data source. What cannot be merged exactly is
// refused (errkind.Invalid), naming the construct: anything but one
// SELECT (UNION, VALUES...), SELECT DISTINCT, DISTINCT or FILTERed
// aggregates, aggregates other than SUM, COUNT, MIN, MAX and AVG, an
// aggregate inside an expression, HAVING, window functions, WITH ROLLUP
// and grouping sets, locking reads, SELECT ... INTO, a LIMIT given as a
// parameter, two columns of the same name, and a derived table, CTE or
// subquery whose result depends on seeing every shard's rows (see
// nestedRefuse).
func RewriteForShards(d Dialect, text string) (*ShardQuery, error) {
	p, err := Parse(d, text)
	if err != nil {
		return nil, err
	}
	var t shardTree
	switch {
	case p.Rewritten || p.Manual != "":
		return nil, shardRefuse("the statement uses syntax the SQL front end cannot re-render exactly")
	case p.MySQL != nil:
		t, err = newMySQLShardTree(p)
	case p.PG != nil:
		t, err = newPGShardTree(p)
	default:
		return nil, shardRefuse("the statement is empty")
	}
	if err != nil {
		return nil, err
	}
	return rewriteShardTree(t, d)
}

// nestedRefuse refuses a derived table, CTE or subquery that holds
// construct: each shard would compute it over its own rows only (partial
// sums as duplicate groups, LIMIT n rows per shard, a per-shard average
// in a comparison), and the merge cannot tell.
func nestedRefuse(construct string) error {
	return shardRefuse("a derived table, CTE or subquery with %s: each shard would compute it over its own rows only", construct)
}

func shardRefuse(format string, args ...any) error {
	return errkind.New(errkind.Invalid, "cannot run on shards and merge: "+format, args...)
}

func rewriteShardTree(t shardTree, d Dialect) (*ShardQuery, error) {
	q := &ShardQuery{}
	cols := t.columns()
	wildcard := cols == nil
	for _, c := range cols {
		if c.Agg != "" {
			q.Aggregate = true
		}
	}
	if t.groupItems() > 0 {
		q.Aggregate = true
	}
	if wildcard && q.Aggregate {
		return nil, shardRefuse("SELECT * with GROUP BY or aggregates: name the columns")
	}
	for i := range t.groupItems() {
		name, err := t.resolveGroup(i)
		if err != nil {
			return nil, err
		}
		q.Group = append(q.Group, name)
	}
	keys, err := t.orderItems()
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		name, err := t.resolveOrder(i)
		if err != nil {
			return nil, err
		}
		k.Column = name
		q.Order = append(q.Order, k)
	}
	if q.Limit, q.Offset, err = t.limit(); err != nil {
		return nil, err
	}
	if err := t.rewriteAvg(); err != nil {
		return nil, err
	}
	if !wildcard {
		q.Columns = t.columns()
		seen := map[string]bool{}
		for _, c := range q.Columns {
			if seen[c.Name] {
				return nil, shardRefuse("two columns are named %q: give them distinct aliases", c.Name)
			}
			seen[c.Name] = true
		}
	}
	switch {
	case !q.Aggregate:
		// Append or ordered merge: each shard's first Offset+Limit rows
		// hold the merged first Offset+Limit.
		if q.Limit >= 0 {
			t.setLimit(q.Offset + q.Limit)
			q.PushedLimit = true
		} else {
			t.setLimit(-1) // an OFFSET applies after the merge
		}
	case len(q.Group) == 0:
		// One group: every shard returns one row.
		t.setLimit(-1)
	default:
		for _, g := range q.Group {
			q.InputOrder = append(q.InputOrder, ShardKey{Column: g})
		}
		unordered := len(q.Order) == 0
		if unordered {
			q.Order = slices.Clone(q.InputOrder)
		}
		if sameKeyColumns(q.Order, q.Group) {
			if unordered {
				t.orderByGroup()
			}
			// The shards sort by the final order: a group among the
			// first Offset+Limit overall is among each shard's first
			// Offset+Limit.
			q.InputOrder = slices.Clone(q.Order)
			if q.Limit >= 0 {
				t.setLimit(q.Offset + q.Limit)
				q.PushedLimit = true
			} else {
				t.setLimit(-1)
			}
		} else {
			t.orderByGroup()
			t.setLimit(-1)
		}
	}
	if q.Text, err = t.render(); err != nil {
		return nil, err
	}
	return q, nil
}

// sameKeyColumns reports whether keys are exactly the group columns, each
// once, in any order and direction.
func sameKeyColumns(keys []ShardKey, group []string) bool {
	if len(keys) != len(group) {
		return false
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !slices.Contains(group, k.Column) || seen[k.Column] {
			return false
		}
		seen[k.Column] = true
	}
	return true
}

// hiddenName is the n-th helper column's name.
func hiddenName(kind string, n int) string { return fmt.Sprintf("%s%s%d", hiddenPrefix, kind, n) }
