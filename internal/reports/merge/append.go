package merge

import "context"

// appendStream yields every shard's rows, one shard after another.
type appendStream struct {
	ctx    context.Context
	plan   Plan
	shards []Shard
	cur    int
	row    []any
	cols   []string
	idx    []int // output column i is shard column idx[i]; nil: as is
	seen   int64 // rows read (before offset)
	out    int64 // rows returned
	err    error
	done   bool
}

func newAppend(ctx context.Context, p Plan, shards []Shard) *appendStream {
	a := &appendStream{ctx: ctx, plan: p, shards: shards}
	if len(shards) > 0 {
		a.cols, a.idx, a.err = project(shards[0].Stream.Columns(), p.Columns)
		if a.err != nil {
			a.err = &ShardError{Shard: shards[0].Name, Err: a.err}
		}
	}
	return a
}

func (a *appendStream) Columns() []string { return a.cols }

func (a *appendStream) Next() bool {
	if a.done || a.err != nil {
		return false
	}
	for {
		if a.plan.Limit >= 0 && a.out >= a.plan.Limit {
			a.done = true
			return false
		}
		if a.cur >= len(a.shards) {
			a.done = true
			return false
		}
		if err := a.ctx.Err(); err != nil {
			a.err = err
			return false
		}
		sh := a.shards[a.cur]
		if !sh.Stream.Next() {
			if err := sh.Stream.Err(); err != nil {
				a.err = &ShardError{Shard: sh.Name, Err: err}
				return false
			}
			a.cur++
			continue
		}
		a.seen++
		if a.seen <= a.plan.Offset {
			continue
		}
		a.row = pick(sh.Stream.Row(), a.idx, a.row)
		a.out++
		return true
	}
}

func (a *appendStream) Row() []any   { return a.row }
func (a *appendStream) Err() error   { return a.err }
func (a *appendStream) Close() error { return closeAll(a.shards) }
