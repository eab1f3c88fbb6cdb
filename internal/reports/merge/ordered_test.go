package merge

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func shardsOf(cols []string, data ...[][]any) []Shard {
	var out []Shard
	for i, rs := range data {
		out = append(out, Shard{Name: "s" + string(rune('0'+i)), Stream: rows(cols, rs...)})
	}
	return out
}

func TestOrdered(t *testing.T) {
	cols := []string{"k", "v"}
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		plan   Plan
		shards [][][]any
		want   [][]any
	}{
		{"ints ascending, ties in shard order",
			Plan{Mode: Ordered, Order: []Key{{Column: "k"}}, Limit: -1},
			[][][]any{{{int64(1), "a0"}, {int64(3), "a1"}}, {{int64(1), "b0"}, {int64(2), "b1"}}, {}},
			[][]any{{int64(1), "a0"}, {int64(1), "b0"}, {int64(2), "b1"}, {int64(3), "a1"}}},
		{"descending with NULL: last on MySQL (first ascending)",
			Plan{Mode: Ordered, Order: []Key{{Column: "k", Desc: true}}, Limit: -1},
			[][][]any{{{int64(5), "a"}, {nil, "a-null"}}, {{int64(7), "b"}, {int64(1), "b1"}}},
			[][]any{{int64(7), "b"}, {int64(5), "a"}, {int64(1), "b1"}, {nil, "a-null"}}},
		{"PostgreSQL: NULL last ascending",
			Plan{Mode: Ordered, Order: []Key{{Column: "k"}}, Limit: -1, Dialect: sql.Postgres},
			[][][]any{{{int64(5), "a"}, {nil, "a-null"}}, {{int64(1), "b"}}},
			[][]any{{int64(1), "b"}, {int64(5), "a"}, {nil, "a-null"}}},
		{"NULLS FIRST explicit",
			Plan{Mode: Ordered, Order: []Key{{Column: "k", Nulls: NullsFirst}}, Limit: -1, Dialect: sql.Postgres},
			[][][]any{{{nil, "a-null"}, {int64(5), "a"}}, {{nil, "b-null"}}},
			[][]any{{nil, "a-null"}, {nil, "b-null"}, {int64(5), "a"}}},
		{"second key, offset and limit",
			Plan{Mode: Ordered, Order: []Key{{Column: "v"}, {Column: "k", Desc: true}}, Limit: 2, Offset: 1},
			[][][]any{{{int64(1), "x"}, {int64(2), "y"}}, {{int64(3), "x"}, {int64(0), "z"}}},
			[][]any{{int64(1), "x"}, {int64(2), "y"}}},
		{"strings byte-wise, times, projection",
			Plan{Mode: Ordered, Order: []Key{{Column: "v"}}, Limit: -1, Columns: []string{"v"}},
			[][][]any{{{t1, "B"}, {t1, "a"}}, {{t1, "Z"}}},
			[][]any{{"B"}, {"Z"}, {"a"}}},
		{"times",
			Plan{Mode: Ordered, Order: []Key{{Column: "k"}}, Limit: -1},
			[][][]any{{{t1, "a"}, {t1.Add(2 * time.Hour), "c"}}, {{t1.Add(time.Hour), "b"}}},
			[][]any{{t1, "a"}, {t1.Add(time.Hour), "b"}, {t1.Add(2 * time.Hour), "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, Merge(context.Background(), tt.plan, shardsOf(cols, tt.shards...)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// typedStream says its columns' server types.
type typedStream struct {
	*sliceStream
	types []string
}

func (s typedStream) ColumnTypes() []string { return s.types }

func TestOrderedDecimalColumn(t *testing.T) {
	cols := []string{"amount"}
	mk := func(vs ...string) Stream {
		var rs [][]any
		for _, v := range vs {
			rs = append(rs, []any{v})
		}
		return typedStream{rows(cols, rs...), []string{"DECIMAL"}}
	}
	st := Merge(context.Background(), Plan{Mode: Ordered, Order: []Key{{Column: "amount"}}, Limit: -1},
		[]Shard{{Name: "a", Stream: mk("-10.50", "9.00", "10.00")}, {Name: "b", Stream: mk("-2.00", "100.00")}})
	got, err := collect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"-10.50"}, {"-2.00"}, {"9.00"}, {"10.00"}, {"100.00"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPartial(t *testing.T) {
	cols := []string{"k"}
	bad := rows(cols, []any{int64(2)}, []any{int64(4)})
	bad.failAt = 1
	for _, mode := range []Mode{Append, Ordered} {
		t.Run(string(mode), func(t *testing.T) {
			bad.i, bad.err = -1, nil
			shards := []Shard{{Name: "ok", Stream: rows(cols, []any{int64(1)}, []any{int64(3)})}, {Name: "down", Stream: bad}}
			st := Merge(context.Background(), Plan{Mode: mode, Order: []Key{{Column: "k"}}, Limit: -1, Partial: true}, shards)
			got, err := collect(t, st)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("got %v, want the 3 rows read", got)
			}
			f := Failed(st)
			if len(f) != 1 || f[0].Shard != "down" {
				t.Fatalf("failed = %v, want shard down", f)
			}
		})
	}
	// Not partial: the error ends the merge, naming the shard.
	bad.i, bad.err = -1, nil
	st := Merge(context.Background(), Plan{Mode: Ordered, Order: []Key{{Column: "k"}}, Limit: -1},
		[]Shard{{Name: "ok", Stream: rows(cols, []any{int64(1)})}, {Name: "down", Stream: bad}})
	_, err := collect(t, st)
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "down" {
		t.Fatalf("err = %v, want ShardError of down", err)
	}
}

func TestColumnMismatch(t *testing.T) {
	st := Merge(context.Background(), Plan{Mode: Append, Limit: -1}, []Shard{
		{Name: "a", Stream: rows([]string{"x"})}, {Name: "b", Stream: rows([]string{"y"})}})
	_, err := collect(t, st)
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "b" {
		t.Fatalf("err = %v, want ShardError of b", err)
	}
}

func TestOrderedRefusesUnsortedShard(t *testing.T) {
	cols := []string{"id", "name"}
	// A case-insensitive collation sorts "a" < "B"; byte-wise "B" < "a".
	st := Merge(context.Background(), Plan{Mode: Ordered, Order: []Key{{Column: "name"}}, Limit: -1, Columns: []string{"id"}},
		shardsOf(cols, [][]any{{int64(1), "a"}, {int64(2), "B"}}, [][]any{{int64(3), "c"}}))
	_, err := collect(t, st)
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "s0" || !strings.Contains(err.Error(), `order name`) {
		t.Fatalf("err = %v, want a ShardError of s0 naming the key", err)
	}
}

func TestBrokenShard(t *testing.T) {
	cols := []string{"k"}
	for _, mode := range []Mode{Append, Ordered} {
		shards := []Shard{Broken("down", nil, errors.New("connection refused")), {Name: "ok", Stream: rows(cols, []any{int64(1)})}}
		st := Merge(context.Background(), Plan{Mode: mode, Order: []Key{{Column: "k"}}, Limit: -1, Partial: true}, shards)
		got, err := collect(t, st)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v, %v", mode, got, err)
		}
		if f := Failed(st); len(f) != 1 || f[0].Shard != "down" {
			t.Fatalf("%s: failed %v", mode, f)
		}
	}
}
