package merge

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// groupStream is the GROUP BY merge. Every shard returns one row per
// group it holds, with the group's aggregates over its rows; rows of the
// same group are combined per Agg. With InputOrder the shards' rows are
// merged in that order and each group is complete when the next begins
// (one group held); without it, or when the final Order differs, every
// group is held (memory: one entry per group, never per row).
type groupStream struct {
	plan    Plan
	src     Stream // the shards' rows: ordered by InputOrder, or appended
	cols    []string
	numeric []bool
	full    []string // cols plus aggregate columns the shards lack
	group   []int
	aggs    []aggCol
	outIdx  []int
	outCols []string
	order   []sortKey
	sorted  bool // groups come out of src complete and in the final order

	cur     *groupState // sorted: the group being read
	pending bool        // sorted: src holds the first row of the next group
	held    []*groupState
	heldPos int
	lim     limiter
	row     []any
	err     error
	done    bool
}

// aggCol is an Agg resolved to column indexes.
type aggCol struct {
	fn      AggFunc
	in, cnt int // shard columns: the value (avg: the sum) and avg's count
	out     int // column in the full row
}

// groupState is one group: its first row and the running aggregates.
type groupState struct {
	first []any
	acc   []accum
}

// accum is a running aggregate: v is nil, int64, float64 or decimal (or,
// for min and max, the value as delivered); n is avg's running count.
type accum struct {
	v any
	n any
}

func newGroup(in *inputs, p Plan) Stream {
	g, err := buildGroup(in, p)
	if err != nil {
		return &failed{err: err}
	}
	return g
}

func buildGroup(in *inputs, p Plan) (*groupStream, error) {
	cols, numeric, err := in.columns()
	if err != nil {
		return nil, err
	}
	if numeric == nil {
		numeric = make([]bool, len(cols))
	}
	g := &groupStream{plan: p, cols: cols, numeric: numeric, lim: limiter{offset: p.Offset, limit: p.Limit}}
	for _, name := range p.Group {
		j := indexOf(cols, name)
		if j < 0 {
			return nil, fmt.Errorf("group column %q is not a column of the shards' result %q", name, cols)
		}
		g.group = append(g.group, j)
	}
	g.full = slices.Clone(cols)
	fullNumeric := slices.Clone(numeric)
	for _, a := range p.Aggs {
		ac := aggCol{fn: a.Func, cnt: -1}
		src := a.Column
		switch a.Func {
		case Sum, Count, Min, Max:
		case Avg:
			src = a.SumColumn
			if ac.cnt = indexOf(cols, a.CountColumn); ac.cnt < 0 {
				return nil, fmt.Errorf("avg %q: count column %q is not a column of the shards' result %q", a.Column, a.CountColumn, cols)
			}
		default:
			return nil, fmt.Errorf("aggregate %q of column %q cannot be merged", a.Func, a.Column)
		}
		if ac.in = indexOf(cols, src); ac.in < 0 {
			return nil, fmt.Errorf("%s column %q is not a column of the shards' result %q", a.Func, src, cols)
		}
		if ac.out = indexOf(g.full, a.Column); ac.out < 0 {
			g.full = append(g.full, a.Column)
			fullNumeric = append(fullNumeric, false)
			ac.out = len(g.full) - 1
		}
		if a.Func == Sum || a.Func == Avg || a.Func == Count {
			fullNumeric[ac.out] = true
		}
		g.aggs = append(g.aggs, ac)
	}
	if g.outCols, g.outIdx, err = project(g.full, p.Columns); err != nil {
		return nil, err
	}
	if g.order, err = resolveKeys(p.Order, g.full, fullNumeric, p.Dialect); err != nil {
		return nil, err
	}
	if len(p.InputOrder) > 0 {
		if !sameColumns(p.InputOrder, p.Group) {
			return nil, fmt.Errorf("input order %v is not on the group columns %q", p.InputOrder, p.Group)
		}
		o, err := newOrderedRaw(in, p.InputOrder, p.Dialect)
		if err != nil {
			return nil, err
		}
		g.src = o
		g.sorted = len(p.Order) == 0 || slices.Equal(p.Order, p.InputOrder)
	} else {
		g.src = &appendStream{in: in, cols: cols, lim: limiter{limit: -1}}
	}
	return g, nil
}

// sameColumns reports whether keys name exactly the group columns.
func sameColumns(keys []Key, group []string) bool {
	if len(keys) != len(group) {
		return false
	}
	for _, k := range keys {
		if !slices.Contains(group, k.Column) {
			return false
		}
	}
	return true
}

func (g *groupStream) Columns() []string { return g.outCols }
func (g *groupStream) Row() []any        { return g.row }
func (g *groupStream) Err() error        { return g.err }
func (g *groupStream) Close() error      { return nil }

func (g *groupStream) Next() bool {
	if g.done || g.err != nil {
		return false
	}
	for {
		if g.lim.full() {
			g.done = true
			return false
		}
		var st *groupState
		if g.sorted {
			st = g.nextSorted()
		} else {
			st = g.nextHeld()
		}
		if st == nil {
			g.done = true
			return false
		}
		if g.lim.skip() {
			continue
		}
		full := g.fullRow(st)
		g.row = pick(full, g.outIdx, g.row)
		return true
	}
}

// nextSorted returns the next complete group of an ordered input.
func (g *groupStream) nextSorted() *groupState {
	for {
		if !g.pending {
			if !g.src.Next() {
				if g.err = g.src.Err(); g.err != nil {
					return nil
				}
				st := g.cur
				g.cur = nil
				return st
			}
		}
		g.pending = false
		row := g.src.Row()
		if g.cur != nil && !g.sameGroup(g.cur.first, row) {
			st := g.cur
			g.cur = nil
			g.pending = true
			return st
		}
		if g.cur == nil {
			g.cur = g.newState(row)
		} else {
			g.add(g.cur, row)
		}
	}
}

// nextHeld reads every group first, sorts them by the final order, then
// returns them one by one.
func (g *groupStream) nextHeld() *groupState {
	if g.held == nil {
		if g.sorted || len(g.plan.InputOrder) > 0 {
			for {
				st := g.nextSorted()
				if st == nil {
					break
				}
				g.held = append(g.held, st)
			}
		} else {
			index := map[string]int{}
			var key []byte
			for g.src.Next() {
				row := g.src.Row()
				key = g.groupKey(key[:0], row)
				if i, ok := index[string(key)]; ok {
					g.add(g.held[i], row)
					continue
				}
				index[string(key)] = len(g.held)
				g.held = append(g.held, g.newState(row))
			}
			g.err = g.src.Err()
		}
		if g.err != nil {
			return nil
		}
		if g.held == nil {
			g.held = []*groupState{}
		}
		if len(g.order) > 0 {
			rows := make([][]any, len(g.held))
			for i, st := range g.held {
				rows[i] = slices.Clone(g.fullRow(st))
			}
			perm := make([]int, len(g.held))
			for i := range perm {
				perm[i] = i
			}
			slices.SortStableFunc(perm, func(a, b int) int { return compareRows(rows[a], rows[b], g.order) })
			sorted := make([]*groupState, len(perm))
			for i, j := range perm {
				sorted[i] = g.held[j]
			}
			g.held = sorted
		}
	}
	if g.heldPos >= len(g.held) {
		return nil
	}
	st := g.held[g.heldPos]
	g.held[g.heldPos] = nil
	g.heldPos++
	return st
}

func (g *groupStream) sameGroup(a, b []any) bool {
	for _, i := range g.group {
		if !equalValues(a[i], b[i], g.numeric[i]) {
			return false
		}
	}
	return true
}

// groupKey encodes the group columns of row so that equal keys encode
// the same (decimal text by value in numeric columns).
func (g *groupStream) groupKey(buf []byte, row []any) []byte {
	for _, i := range g.group {
		switch v := row[i].(type) {
		case nil:
			buf = append(buf, 'n')
		case int64:
			buf = append(buf, 'i')
			buf = binary.AppendVarint(buf, v)
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1<<62 {
				buf = append(buf, 'i')
				buf = binary.AppendVarint(buf, int64(v))
				continue
			}
			buf = append(buf, 'f')
			buf = binary.AppendUvarint(buf, math.Float64bits(v))
		case string:
			if g.numeric[i] {
				if d, ok := parseDecimal(v); ok {
					buf = append(buf, 'd')
					buf = append(buf, normDecimal(d)...)
					buf = append(buf, 0)
					continue
				}
			}
			buf = append(buf, 's')
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		case []byte:
			buf = append(buf, 's')
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		case time.Time:
			buf = append(buf, 't')
			buf = binary.AppendVarint(buf, v.UnixNano())
		case bool:
			buf = append(buf, 'b')
			buf = strconv.AppendBool(buf, v)
		default:
			buf = fmt.Appendf(buf, "?%v", v)
		}
	}
	return buf
}

// normDecimal is d's text without trailing fraction zeros.
func normDecimal(d decimal) string {
	for d.scale > 0 {
		q, r := new(big.Int).QuoRem(d.unscaled, ten, new(big.Int))
		if r.Sign() != 0 {
			break
		}
		d = decimal{unscaled: q, scale: d.scale - 1}
	}
	return d.String()
}

func (g *groupStream) newState(row []any) *groupState {
	st := &groupState{first: make([]any, len(row)), acc: make([]accum, len(g.aggs))}
	for i, v := range row {
		st.first[i] = cloneValue(v)
	}
	g.add(st, row)
	return st
}

// add folds one shard row into the group's aggregates.
func (g *groupStream) add(st *groupState, row []any) {
	for i, a := range g.aggs {
		acc := &st.acc[i]
		v := row[a.in]
		switch a.fn {
		case Sum, Count:
			acc.v = addNumbers(acc.v, v)
		case Avg:
			acc.v = addNumbers(acc.v, v)
			acc.n = addNumbers(acc.n, row[a.cnt])
		case Min, Max:
			if v == nil {
				continue
			}
			if acc.v == nil {
				acc.v = cloneValue(v)
				continue
			}
			c := compareValues(v, acc.v, g.numeric[a.in])
			if a.fn == Min && c < 0 || a.fn == Max && c > 0 {
				acc.v = cloneValue(v)
			}
		}
	}
}

// fullRow is the group's output over g.full: its first row with the
// aggregates in place.
func (g *groupStream) fullRow(st *groupState) []any {
	row := st.first
	if len(row) < len(g.full) {
		row = append(row, make([]any, len(g.full)-len(row))...)
		st.first = row
	}
	for i, a := range g.aggs {
		acc := st.acc[i]
		var v any
		switch a.fn {
		case Sum, Min, Max:
			v = numberValue(acc.v)
		case Count:
			v = numberValue(acc.v)
			if v == nil {
				v = int64(0)
			}
		case Avg:
			v = average(acc.v, acc.n, g.plan.Dialect)
		}
		row[a.out] = v
	}
	return row
}

// addNumbers adds v (nil, int64, float64, decimal text) to a running
// sum; NULLs are skipped, as SUM does.
func addNumbers(acc, v any) any {
	if v == nil {
		return acc
	}
	switch x := v.(type) {
	case int64, float64:
	case string:
		d, ok := parseDecimal(x)
		if !ok {
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return acc // not a number: the servers would not sum it either
			}
			v = f
		} else {
			v = d
		}
	case bool:
		v = b2i(x)
	default:
		return acc
	}
	if acc == nil {
		return v
	}
	switch a := acc.(type) {
	case int64:
		switch b := v.(type) {
		case int64:
			if s := a + b; (s > a) == (b > 0) {
				return s
			}
			return decimalOfInt(a).add(decimalOfInt(b))
		case float64:
			return float64(a) + b
		case decimal:
			return decimalOfInt(a).add(b)
		}
	case float64:
		switch b := v.(type) {
		case int64:
			return a + float64(b)
		case float64:
			return a + b
		case decimal:
			f, _ := b.float()
			return a + f
		}
	case decimal:
		switch b := v.(type) {
		case int64:
			return a.add(decimalOfInt(b))
		case float64:
			f, _ := a.float()
			return f + b
		case decimal:
			return a.add(b)
		}
	}
	return acc
}

// numberValue is a running value as the adapters deliver it (decimals as
// their text).
func numberValue(v any) any {
	if d, ok := v.(decimal); ok {
		return d.String()
	}
	return v
}

// average divides a summed sum by a summed count as the server's AVG
// would: a float for floats, else a decimal rounded half away from zero
// to the server's scale (MySQL family: the sum's scale plus
// div_precision_increment's default 4; PostgreSQL: numeric division's
// select_div_scale).
func average(sum, count any, d sql.Dialect) any {
	var n int64
	switch c := count.(type) {
	case int64:
		n = c
	case decimal:
		if !c.unscaled.IsInt64() || c.scale != 0 {
			return nil
		}
		n = c.unscaled.Int64()
	case float64:
		n = int64(c)
	default:
		return nil
	}
	if n == 0 || sum == nil {
		return nil
	}
	var s decimal
	switch x := sum.(type) {
	case float64:
		return x / float64(n)
	case int64:
		s = decimalOfInt(x)
	case decimal:
		s = x
	default:
		return nil
	}
	scale := s.scale + 4
	if d == sql.Postgres {
		scale = pgDivScale(s, decimalOfInt(n))
	}
	return s.div(big.NewInt(n), scale).String()
}

// pgDivScale is PostgreSQL's select_div_scale for a / b: enough digits
// for 16 significant ones in the quotient, at least either operand's
// scale.
func pgDivScale(a, b decimal) int {
	wa, fa := pgWeight(a)
	wb, fb := pgWeight(b)
	q := wa - wb
	if fa <= fb {
		q--
	}
	scale := 16 - q*4
	scale = max(scale, a.scale, b.scale, 0)
	return min(scale, 1000)
}

// pgWeight is the weight (in base-10000 digits) of d's first non-zero
// base-10000 digit, and that digit, as PostgreSQL's numeric stores them.
func pgWeight(d decimal) (weight int, first int64) {
	if d.unscaled.Sign() == 0 {
		return 0, 0
	}
	s4 := (d.scale + 3) / 4 * 4
	u := new(big.Int).Abs(d.rescale(s4).unscaled)
	base := big.NewInt(10000)
	var digits []int64
	for u.Sign() > 0 {
		var r big.Int
		u.QuoRem(u, base, &r)
		digits = append(digits, r.Int64())
	}
	// digits are least significant first; the last is the first digit.
	return len(digits) - 1 - s4/4, digits[len(digits)-1]
}
