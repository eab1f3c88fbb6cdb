package merge

import (
	"context"
	"errors"
	"fmt"
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

// Key is one ORDER BY key of an ordered or group merge.
type Key struct {
	Column string
	Desc   bool
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

// Agg is one aggregate column of a group merge.
type Agg struct {
	Func   AggFunc
	Column string // output column name
	// for avg: the per-shard sum and count columns the rewrite added
	SumColumn, CountColumn string
}

// Plan says how Merge combines the shards.
type Plan struct {
	Mode   Mode
	Order  []Key // ordered merge keys (also the final order for "group")
	Group  []string
	Aggs   []Agg
	Limit  int64 // -1: none
	Offset int64
	// Columns are the output columns, in the single-server query's order
	// (hidden helper columns dropped). Empty: the shards' columns as they are.
	Columns []string
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

// Merge combines the shards per plan, streaming (memory bounded by the
// number of shards / groups, not rows). A shard failing mid-stream makes
// Err() a *ShardError. Closing the returned Stream closes every shard.
func Merge(ctx context.Context, p Plan, shards []Shard) Stream {
	switch p.Mode {
	case Append, "":
		return newAppend(ctx, p, shards)
	default:
		return &failed{shards: shards, err: fmt.Errorf("merge mode %q is not implemented yet", p.Mode)}
	}
}

// failed is a Stream that yields nothing but an error.
type failed struct {
	shards []Shard
	err    error
}

func (f *failed) Columns() []string { return nil }
func (f *failed) Next() bool        { return false }
func (f *failed) Row() []any        { return nil }
func (f *failed) Err() error        { return f.err }
func (f *failed) Close() error      { return closeAll(f.shards) }

func closeAll(shards []Shard) error {
	var errs []error
	for _, s := range shards {
		if s.Stream == nil {
			continue
		}
		if err := s.Stream.Close(); err != nil {
			errs = append(errs, &ShardError{Shard: s.Name, Err: err})
		}
	}
	return errors.Join(errs...)
}
