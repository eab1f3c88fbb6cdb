package merge

import (
	"context"
	"reflect"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func TestGroup(t *testing.T) {
	// Shard columns: g, s (SUM), c (COUNT), lo (MIN), hi (MAX), a (AVG's
	// SUM), a_n (AVG's COUNT).
	cols := []string{"g", "s", "c", "lo", "hi", "a", "a_n"}
	aggs := []Agg{{Func: Sum, Column: "s"}, {Func: Count, Column: "c"}, {Func: Min, Column: "lo"}, {Func: Max, Column: "hi"},
		{Func: Avg, Column: "a", SumColumn: "a", CountColumn: "a_n"}}
	out := []string{"g", "s", "c", "lo", "hi", "a"}
	shard0 := [][]any{
		{"x", "10", int64(2), int64(1), int64(9), "10", int64(2)},
		{"y", nil, int64(0), nil, nil, nil, int64(0)},
	}
	shard1 := [][]any{
		{"x", "5", int64(1), int64(0), int64(5), "5", int64(1)},
		{"z", "7", int64(3), int64(2), int64(3), "7", int64(3)},
	}
	tests := []struct {
		name string
		plan Plan
		want [][]any
	}{
		{"sorted input, group order",
			Plan{Mode: Group, Group: []string{"g"}, Aggs: aggs, Limit: -1, Columns: out, InputOrder: []Key{{Column: "g"}}},
			[][]any{
				{"x", "15", int64(3), int64(0), int64(9), "5.0000"},
				{"y", nil, int64(0), nil, nil, nil},
				{"z", "7", int64(3), int64(2), int64(3), "2.3333"},
			}},
		{"sorted input, ordered by an aggregate, limit",
			Plan{Mode: Group, Group: []string{"g"}, Aggs: aggs, Limit: 2, Columns: out, InputOrder: []Key{{Column: "g"}},
				Order: []Key{{Column: "s", Desc: true}}},
			[][]any{
				{"x", "15", int64(3), int64(0), int64(9), "5.0000"},
				{"z", "7", int64(3), int64(2), int64(3), "2.3333"},
			}},
		{"unsorted input, offset",
			Plan{Mode: Group, Group: []string{"g"}, Aggs: aggs, Limit: -1, Offset: 1, Columns: out, Order: []Key{{Column: "g", Desc: true}}},
			[][]any{
				{"y", nil, int64(0), nil, nil, nil},
				{"x", "15", int64(3), int64(0), int64(9), "5.0000"},
			}},
		{"PostgreSQL's avg scale",
			Plan{Mode: Group, Group: []string{"g"}, Aggs: aggs, Limit: 1, Columns: []string{"a"}, InputOrder: []Key{{Column: "g"}}, Dialect: sql.Postgres},
			[][]any{{"5.0000000000000000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// shard1's rows unsorted for the unsorted case would not matter;
			// the sorted cases need them sorted, as they are.
			got, err := collect(t, Merge(context.Background(), tt.plan, shardsOf(cols, shard0, shard1)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestGroupNoKeys(t *testing.T) {
	cols := []string{"n", "total"}
	plan := Plan{Mode: Group, Aggs: []Agg{{Func: Count, Column: "n"}, {Func: Sum, Column: "total"}}, Limit: -1}
	got, err := collect(t, Merge(context.Background(), plan, shardsOf(cols,
		[][]any{{int64(0), nil}}, [][]any{{int64(2), int64(40)}}, [][]any{{int64(1), 2.5}})))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(3), 42.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		a, b   string
		sum    string
		cmp    int
		avgN   int64
		avg    string
		pgAvg  string
		pgDivS int
	}{
		{"1.50", "2.5", "4.00", -1, 3, "1.333333", "1.3333333333333333", 16},
		{"-0.05", "0", "-0.05", -1, 1, "-0.050000", "-0.05000000000000000000", 20},
		{"123456789012345678901234567890", "1", "123456789012345678901234567891", 1, 7, "17636684144620811271604938270.1429", "17636684144620811271604938270", 0},
	}
	for _, tt := range tests {
		a, _ := parseDecimal(tt.a)
		b, _ := parseDecimal(tt.b)
		if got := a.add(b).String(); got != tt.sum {
			t.Errorf("%s + %s = %s, want %s", tt.a, tt.b, got, tt.sum)
		}
		if got := a.cmp(b); got != tt.cmp {
			t.Errorf("cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.cmp)
		}
		s := a.add(b)
		if got := average(s, tt.avgN, sql.MariaDB); got != tt.avg {
			t.Errorf("avg %s / %d = %v, want %s", s, tt.avgN, got, tt.avg)
		}
		if got := average(s, tt.avgN, sql.Postgres); got != tt.pgAvg {
			t.Errorf("pg avg %s / %d = %v, want %s", s, tt.avgN, got, tt.pgAvg)
		}
	}
}
