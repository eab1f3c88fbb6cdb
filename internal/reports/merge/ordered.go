package merge

import (
	"container/heap"
	"fmt"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// sortKey is a Key resolved to a column index.
type sortKey struct {
	idx        int
	desc       bool
	nullsFirst bool // in the output order, NULLs come first
	numeric    bool
}

// resolveKeys maps keys onto cols.
func resolveKeys(keys []Key, cols []string, numeric []bool, d sql.Dialect) ([]sortKey, error) {
	out := make([]sortKey, len(keys))
	for i, k := range keys {
		j := indexOf(cols, k.Column)
		if j < 0 {
			return nil, fmt.Errorf("order key %q is not a column of the shards' result %q", k.Column, cols)
		}
		// Ascending, NULL is the smallest value on the MySQL family and
		// the largest on PostgreSQL; descending reverses that.
		first := d != sql.Postgres
		if k.Desc {
			first = !first
		}
		switch k.Nulls {
		case NullsFirst:
			first = true
		case NullsLast:
			first = false
		case NullsDefault:
		default:
			return nil, fmt.Errorf("order key %q: unknown null order %q", k.Column, k.Nulls)
		}
		out[i] = sortKey{idx: j, desc: k.Desc, nullsFirst: first, numeric: numeric != nil && numeric[j]}
	}
	return out, nil
}

// compareRows orders two rows by keys.
func compareRows(a, b []any, keys []sortKey) int {
	for _, k := range keys {
		x, y := a[k.idx], b[k.idx]
		var c int
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			c = 1
			if k.nullsFirst {
				c = -1
			}
			return c
		case y == nil:
			c = -1
			if k.nullsFirst {
				c = 1
			}
			return c
		}
		c = compareValues(x, y, k.numeric)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// ordered is a k-way merge of shards each sorted by the same keys: a heap
// holds each shard's current row; ties go to the earlier shard, so the
// merge is stable in shard order.
type ordered struct {
	in      *inputs
	keys    []sortKey
	h       shardHeap
	started bool
	last    int // the shard whose row was returned last; -1: none
	row     []any
	cols    []string // the output's
	src     []string // the shards'
	idx     []int
	lim     limiter
	err     error
	done    bool
	// prev holds each shard's previous row's key values, to catch a shard
	// whose order is not the merge's (a collation that is not byte-wise).
	prev [][]any
}

// checkOrder refuses a shard row that sorts before the shard's previous
// one: merging such input would give a wrong order (and wrong groups).
func (o *ordered) checkOrder(i int) error {
	if len(o.keys) == 0 {
		return nil
	}
	if o.prev == nil {
		o.prev = make([][]any, len(o.in.shards))
	}
	row := o.in.shards[i].Stream.Row()
	prev := o.prev[i]
	if prev != nil {
		if compareRows(row, prev, o.keys) < 0 {
			return &ShardError{Shard: o.in.shards[i].Name, Err: fmt.Errorf(
				"rows are not in the merge's order %s (text compares byte by byte: order by a binary collation)", o.describe())}
		}
	} else {
		prev = make([]any, len(row))
		o.prev[i] = prev
	}
	for _, k := range o.keys {
		prev[k.idx] = cloneValue(row[k.idx])
	}
	return nil
}

// describe names the merge's keys for an error.
func (o *ordered) describe() string {
	var b []byte
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, o.src[k.idx]...)
		if k.desc {
			b = append(b, " DESC"...)
		}
	}
	return string(b)
}

func newOrdered(in *inputs, p Plan) Stream {
	o, err := newOrderedRaw(in, p.Order, p.Dialect)
	if err != nil {
		return &failed{err: err}
	}
	o.lim = limiter{offset: p.Offset, limit: p.Limit}
	if o.cols, o.idx, err = project(o.cols, p.Columns); err != nil {
		return &failed{err: err}
	}
	return o
}

// newOrderedRaw merges on keys with the shards' columns and no limit.
func newOrderedRaw(in *inputs, keys []Key, d sql.Dialect) (*ordered, error) {
	cols, numeric, err := in.columns()
	if err != nil {
		return nil, err
	}
	sk, err := resolveKeys(keys, cols, numeric, d)
	if err != nil {
		return nil, err
	}
	o := &ordered{in: in, keys: sk, last: -1, cols: cols, src: cols, lim: limiter{limit: -1}}
	o.h.o = o
	return o, nil
}

func (o *ordered) Columns() []string { return o.cols }

func (o *ordered) Next() bool {
	if o.done || o.err != nil {
		return false
	}
	for {
		if o.lim.full() {
			o.done = true
			return false
		}
		if !o.started {
			o.started = true
			for i := range o.in.shards {
				ok, err := o.read(i)
				if err != nil {
					o.err = err
					return false
				}
				if ok {
					o.h.items = append(o.h.items, i)
				}
			}
			heap.Init(&o.h)
		} else if o.last >= 0 {
			// The shard of the row returned last is still at the top:
			// read its next row and sift it down (one pass, not a pop and
			// a push), or drop it at its end.
			ok, err := o.read(o.last)
			o.last = -1
			if err != nil {
				o.err = err
				return false
			}
			if ok {
				heap.Fix(&o.h, 0)
			} else {
				heap.Pop(&o.h)
			}
		}
		if o.h.Len() == 0 {
			o.done = true
			return false
		}
		o.last = o.h.items[0]
		if o.lim.skip() {
			continue
		}
		o.row = pick(o.in.shards[o.last].Stream.Row(), o.idx, o.row)
		return true
	}
}

// read reads shard i's next row (false at its end), checking it comes in
// the merge's order.
func (o *ordered) read(i int) (bool, error) {
	ok, err := o.in.next(i)
	if err != nil || !ok {
		return false, err
	}
	return true, o.checkOrder(i)
}

func (o *ordered) Row() []any   { return o.row }
func (o *ordered) Err() error   { return o.err }
func (o *ordered) Close() error { return nil }

// shardHeap holds the indexes of the shards with a current row.
type shardHeap struct {
	o     *ordered
	items []int
}

func (h *shardHeap) Len() int { return len(h.items) }
func (h *shardHeap) Less(a, b int) bool {
	i, j := h.items[a], h.items[b]
	c := compareRows(h.o.in.shards[i].Stream.Row(), h.o.in.shards[j].Stream.Row(), h.o.keys)
	return c < 0 || c == 0 && i < j
}
func (h *shardHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *shardHeap) Push(x any)    { h.items = append(h.items, x.(int)) }
func (h *shardHeap) Pop() any {
	n := len(h.items) - 1
	x := h.items[n]
	h.items = h.items[:n]
	return x
}
