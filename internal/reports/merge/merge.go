package merge

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Stream is one shard's (or group member's) result, read row by row.
// *query.RowStream satisfies it, and so does the Stream Merge returns.
type Stream interface {
	Columns() []string
	Next() bool // false at the end or on error
	Row() []any // the current row; valid until the next call to Next
	Err() error
	Close() error
}

// Typed is what a Stream may also say about its columns: the server's
// type names (database/sql's DatabaseTypeName: "DECIMAL", "NUMERIC",
// "VARCHAR"...). Merge orders and groups the decimal text of DECIMAL and
// NUMERIC columns by value when a shard's stream says so.
type Typed interface {
	ColumnTypes() []string
}

// Shard names one input of a merge.
type Shard struct {
	Name   string // shard or member name, used in errors and in Partial
	Stream Stream
}

// Mode is how shards are combined.
type Mode string

// Modes.
const (
	Append  Mode = "append"
	Ordered Mode = "ordered"
	Group   Mode = "group"
)

// Nulls says where NULL sorts.
type Nulls string

// Null orders: "" is the dialect's default (first in ascending order on
// the MySQL family, last on PostgreSQL; the reverse when descending).
const (
	NullsDefault Nulls = ""
	NullsFirst   Nulls = "first"
	NullsLast    Nulls = "last"
)

// Key is one ORDER BY key of an ordered or group merge.
type Key struct {
	Column string
	Desc   bool
	Nulls  Nulls
}

// AggFunc is an aggregate function the group merge re-aggregates.
type AggFunc string

// Aggregate functions.
const (
	Sum   AggFunc = "sum"
	Count AggFunc = "count"
	Min   AggFunc = "min"
	Max   AggFunc = "max"
	Avg   AggFunc = "avg"
)

// Agg is one aggregate column of a group merge. Each shard returns the
// aggregate over its rows in Column (sum: SUM, count: COUNT, min, max);
// the merge combines them: sums and counts add up, min and max compare,
// avg divides the summed SumColumn by the summed CountColumn.
type Agg struct {
	Func   AggFunc
	Column string // output column name
	// for avg: the per-shard sum and count columns the rewrite added
	SumColumn, CountColumn string
}

// Plan says how Merge combines the shards.
type Plan struct {
	Mode  Mode
	Order []Key // ordered merge keys (also the final order for "group")
	Group []string
	Aggs  []Agg
	// Limit caps the merged rows, after Offset of them are skipped; -1:
	// none (0 is LIMIT 0).
	Limit  int64 // -1: none
	Offset int64
	// Columns are the output columns, in the single-server query's order
	// (hidden helper columns dropped). Empty: the shards' columns as they are.
	Columns []string

	// Dialect is the servers' (NULL ordering, AVG's scale).
	Dialect sql.Dialect
	// InputOrder (group mode) is the order each shard's rows come in,
	// on the group columns (Prepare adds it to ShardSQL): groups are
	// then merged as they stream by, holding one group at a time unless
	// Order differs (then every group is held to be sorted). Nil: the
	// rows are unsorted and every group is held.
	InputOrder []Key
	// Partial: a shard that fails is left out and named by Failed,
	// instead of ending the merge with its error.
	Partial bool
}

// ShardError is the error of a merge whose shard failed (to open, or
// mid-stream).
type ShardError struct {
	Shard string
	Err   error
}

func (e *ShardError) Error() string { return fmt.Sprintf("shard %q: %v", e.Shard, e.Err) }

// Unwrap returns the shard's error.
func (e *ShardError) Unwrap() error { return e.Err }

// Broken is a shard whose stream could not be opened (its server is
// down, the connection timed out): merged, it fails with err at once, so
// a Partial merge names it in Failed and the others still merge.
func Broken(name string, columns []string, err error) Shard {
	return Shard{Name: name, Stream: &brokenStream{cols: columns, err: err}}
}

type brokenStream struct {
	cols []string
	err  error
}

func (b *brokenStream) Columns() []string { return b.cols }
func (b *brokenStream) Next() bool        { return false }
func (b *brokenStream) Row() []any        { return nil }
func (b *brokenStream) Err() error        { return b.err }
func (b *brokenStream) Close() error      { return nil }

// Merge combines the shards per plan, streaming (memory bounded by the
// number of shards / groups, not rows). A shard failing mid-stream makes
// Err() a *ShardError, unless p.Partial (see Failed). Closing the
// returned Stream closes every shard.
func Merge(ctx context.Context, p Plan, shards []Shard) Stream {
	in := &inputs{ctx: ctx, shards: shards, partial: p.Partial}
	var s Stream
	switch p.Mode {
	case Append, "":
		s = newAppend(in, p)
	case Ordered:
		s = newOrdered(in, p)
	case Group:
		s = newGroup(in, p)
	default:
		s = &failed{err: fmt.Errorf("unknown merge mode %q", p.Mode)}
	}
	return &merged{Stream: s, in: in}
}

// Failed names the shards a Partial merge left out, with their errors
// (nil for a Stream Merge did not return).
func Failed(s Stream) []*ShardError {
	if m, ok := s.(*merged); ok {
		return m.in.failed
	}
	return nil
}

// merged is the Stream Merge returns: one of the modes, closing the shards.
type merged struct {
	Stream
	in *inputs
}

func (m *merged) Close() error { return m.in.close() }

// inputs are the shards with their failures.
type inputs struct {
	ctx     context.Context
	shards  []Shard
	partial bool
	failed  []*ShardError
	dead    []bool
	closed  bool
}

// next advances shard i: false at its end, or when it failed and the
// merge is partial; an error when it failed and the merge is not.
func (in *inputs) next(i int) (bool, error) {
	if in.dead == nil {
		in.dead = make([]bool, len(in.shards))
	}
	if in.dead[i] {
		return false, nil
	}
	if err := in.ctx.Err(); err != nil {
		return false, err
	}
	sh := in.shards[i]
	if sh.Stream.Next() {
		return true, nil
	}
	in.dead[i] = true
	if err := sh.Stream.Err(); err != nil {
		se := &ShardError{Shard: sh.Name, Err: err}
		if !in.partial {
			return false, se
		}
		in.failed = append(in.failed, se)
	}
	return false, nil
}

func (in *inputs) close() error {
	if in.closed {
		return nil
	}
	in.closed = true
	var errs []error
	for _, s := range in.shards {
		if s.Stream == nil {
			continue
		}
		if err := s.Stream.Close(); err != nil {
			errs = append(errs, &ShardError{Shard: s.Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// columns checks every shard returns the same columns and returns them,
// with which are numeric (DECIMAL/NUMERIC per a Typed stream).
func (in *inputs) columns() ([]string, []bool, error) {
	if len(in.shards) == 0 {
		return nil, nil, nil
	}
	ref := 0
	for ref < len(in.shards)-1 && isBroken(in.shards[ref]) {
		ref++
	}
	cols := in.shards[ref].Stream.Columns()
	numeric := make([]bool, len(cols))
	for _, sh := range in.shards {
		if isBroken(sh) {
			continue
		}
		c := sh.Stream.Columns()
		if len(c) != len(cols) {
			return nil, nil, &ShardError{Shard: sh.Name, Err: fmt.Errorf("returns %d columns %q, shard %q %d %q", len(c), c, in.shards[ref].Name, len(cols), cols)}
		}
		for i := range c {
			if c[i] != cols[i] {
				return nil, nil, &ShardError{Shard: sh.Name, Err: fmt.Errorf("column %d is %q, on shard %q %q", i+1, c[i], in.shards[ref].Name, cols[i])}
			}
		}
		if t, ok := sh.Stream.(Typed); ok {
			for i, name := range t.ColumnTypes() {
				if i < len(numeric) && isNumericType(name) {
					numeric[i] = true
				}
			}
		}
	}
	return cols, numeric, nil
}

func isBroken(s Shard) bool {
	_, ok := s.Stream.(*brokenStream)
	return ok
}

func isNumericType(name string) bool {
	switch name {
	case "DECIMAL", "NUMERIC", "NEWDECIMAL", "UNSIGNED DECIMAL":
		return true
	}
	return false
}

// limiter applies OFFSET then LIMIT to merged rows.
type limiter struct {
	offset, limit int64
	seen, out     int64
}

// skip reports whether a row is before the offset (and counts it).
func (l *limiter) skip() bool {
	l.seen++
	if l.seen <= l.offset {
		return true
	}
	l.out++
	return false
}

// full reports whether the limit is reached.
func (l *limiter) full() bool { return l.limit >= 0 && l.out >= l.limit }

// failed is a Stream that yields nothing but an error.
type failed struct {
	err error
}

func (f *failed) Columns() []string { return nil }
func (f *failed) Next() bool        { return false }
func (f *failed) Row() []any        { return nil }
func (f *failed) Err() error        { return f.err }
func (f *failed) Close() error      { return nil }
