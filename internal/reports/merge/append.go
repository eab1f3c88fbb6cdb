package merge

// appendStream yields every shard's rows, one shard after another.
type appendStream struct {
	in   *inputs
	cur  int
	row  []any
	cols []string
	idx  []int // output column i is shard column idx[i]; nil: as is
	lim  limiter
	err  error
	done bool
}

func newAppend(in *inputs, p Plan) Stream {
	cols, _, err := in.columns()
	if err != nil {
		return &failed{err: err}
	}
	a := &appendStream{in: in, lim: limiter{offset: p.Offset, limit: p.Limit}}
	if a.cols, a.idx, err = project(cols, p.Columns); err != nil {
		return &failed{err: err}
	}
	return a
}

func (a *appendStream) Columns() []string { return a.cols }

func (a *appendStream) Next() bool {
	if a.done || a.err != nil {
		return false
	}
	for {
		if a.lim.full() || a.cur >= len(a.in.shards) {
			a.done = true
			return false
		}
		ok, err := a.in.next(a.cur)
		if err != nil {
			a.err = err
			return false
		}
		if !ok {
			a.cur++
			continue
		}
		if a.lim.skip() {
			continue
		}
		a.row = pick(a.in.shards[a.cur].Stream.Row(), a.idx, a.row)
		return true
	}
}

func (a *appendStream) Row() []any   { return a.row }
func (a *appendStream) Err() error   { return a.err }
func (a *appendStream) Close() error { return nil }
