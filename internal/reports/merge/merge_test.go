package merge

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// sliceStream is a Stream over fixed rows; failAt >= 0 makes Next fail
// after that many rows.
type sliceStream struct {
	cols   []string
	rows   [][]any
	i      int
	failAt int
	err    error
	closed bool
}

func rows(cols []string, rs ...[]any) *sliceStream {
	return &sliceStream{cols: cols, rows: rs, i: -1, failAt: -1}
}

func (s *sliceStream) Columns() []string { return s.cols }
func (s *sliceStream) Next() bool {
	if s.err != nil {
		return false
	}
	if s.failAt >= 0 && s.i+1 == s.failAt {
		s.err = errors.New("connection lost")
		return false
	}
	s.i++
	return s.i < len(s.rows)
}
func (s *sliceStream) Row() []any   { return s.rows[s.i] }
func (s *sliceStream) Err() error   { return s.err }
func (s *sliceStream) Close() error { s.closed = true; return nil }

func collect(t *testing.T, st Stream) ([][]any, error) {
	t.Helper()
	var out [][]any
	for st.Next() {
		out = append(out, append([]any(nil), st.Row()...))
	}
	err := st.Err()
	if cerr := st.Close(); cerr != nil {
		t.Fatalf("close: %v", cerr)
	}
	return out, err
}

func TestAppend(t *testing.T) {
	cols := []string{"id", "name"}
	tests := []struct {
		name   string
		plan   Plan
		shards [][][]any
		want   [][]any
	}{
		{"all rows in shard order", Plan{Mode: Append, Limit: -1},
			[][][]any{{{int64(1), "a"}, {int64(2), "b"}}, {}, {{int64(3), "c"}}},
			[][]any{{int64(1), "a"}, {int64(2), "b"}, {int64(3), "c"}}},
		{"offset and limit across shards", Plan{Mode: Append, Limit: 2, Offset: 1},
			[][][]any{{{int64(1), "a"}}, {{int64(2), "b"}, {int64(3), "c"}, {int64(4), "d"}}},
			[][]any{{int64(2), "b"}, {int64(3), "c"}}},
		{"projection drops helper columns", Plan{Mode: Append, Limit: -1, Columns: []string{"name"}},
			[][][]any{{{int64(1), "a"}}},
			[][]any{{"a"}}},
		{"limit 0", Plan{Mode: Append, Limit: 0},
			[][][]any{{{int64(1), "a"}}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var shards []Shard
			for i, rs := range tt.shards {
				shards = append(shards, Shard{Name: string(rune('a' + i)), Stream: rows(cols, rs...)})
			}
			got, err := collect(t, Merge(context.Background(), tt.plan, shards))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for _, s := range shards {
				if !s.Stream.(*sliceStream).closed {
					t.Fatalf("shard %s not closed", s.Name)
				}
			}
		})
	}
}

func TestAppendShardError(t *testing.T) {
	cols := []string{"id"}
	bad := rows(cols, []any{int64(2)}, []any{int64(3)})
	bad.failAt = 1
	st := Merge(context.Background(), Plan{Mode: Append, Limit: -1}, []Shard{
		{Name: "s0", Stream: rows(cols, []any{int64(1)})},
		{Name: "s1", Stream: bad},
	})
	got, err := collect(t, st)
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "s1" {
		t.Fatalf("err = %v, want a ShardError of s1", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %v before the error, want 2 rows", got)
	}
}
