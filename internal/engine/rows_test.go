package engine

import (
	"math"
	"testing"
	"time"
)

// TestRowReads: each typed read, for each type an adapter delivers, NULL
// and a column outside the row.
func TestRowReads(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.UTC)
	type want struct {
		str       string
		i         int64
		iok       bool
		f         float64
		fok       bool
		b, bok    bool
		null, tok bool
	}
	for _, tc := range []struct {
		name string
		v    any
		want want
	}{
		{"null", nil, want{null: true}},
		{"int64", int64(-42), want{str: "-42", i: -42, iok: true, f: -42, fok: true, b: true, bok: true}},
		{"zero", int64(0), want{str: "0", iok: true, fok: true, bok: true}},
		{"uint64 in range", uint64(7), want{str: "7", i: 7, iok: true, f: 7, fok: true, b: true, bok: true}},
		{"uint64 too large", uint64(math.MaxUint64), want{str: "18446744073709551615", f: math.MaxUint64, fok: true}},
		{"float64", 12.75, want{str: "12.75", i: 12, iok: true, f: 12.75, fok: true, b: true, bok: true}},
		{"float64 negative truncates toward zero", -1.5, want{str: "-1.5", i: -1, iok: true, f: -1.5, fok: true, b: true, bok: true}},
		{"float64 huge", 1e300, want{str: "1e+300", f: 1e300, fok: true}},
		{"bool", true, want{str: "true", i: 1, iok: true, f: 1, fok: true, b: true, bok: true}},
		{"text number", " 123 ", want{str: " 123 ", i: 123, iok: true, f: 123, fok: true}},
		{"bytes number", []byte("4.5"), want{str: "4.5", i: 4, iok: true, f: 4.5, fok: true}},
		{"bytes text", []byte("abc"), want{str: "abc"}},
		{"text ON", "ON", want{str: "ON", b: true, bok: true}},
		{"text 0", "0", want{str: "0", iok: true, fok: true, bok: true}},
		{"text no", "no", want{str: "no", bok: true}},
		{"time", at, want{str: "2026-03-04 05:06:07.89", f: float64(at.UnixNano()) / 1e9, fok: true, tok: true}},
		{"time text", "2026-03-04 05:06:07.89", want{str: "2026-03-04 05:06:07.89", tok: true}},
		{"time bytes RFC 3339", []byte("2026-03-04T05:06:07.89Z"), want{str: "2026-03-04T05:06:07.89Z", tok: true}},
		{"time text PostgreSQL zone", "2026-03-04 06:06:07.89+01", want{str: "2026-03-04 06:06:07.89+01", tok: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := &Rows{Columns: []string{"v"}, Values: [][]any{{tc.v}}}
			w := tc.want
			if got := rows.String(0, 0); got != w.str {
				t.Errorf("String = %q, want %q", got, w.str)
			}
			if got, ok := Int64(tc.v); got != w.i || ok != w.iok || rows.Int64(0, 0) != w.i {
				t.Errorf("Int64 = %d, %v (method %d); want %d, %v", got, ok, rows.Int64(0, 0), w.i, w.iok)
			}
			if got, ok := Float64(tc.v); got != w.f || ok != w.fok || rows.Float64(0, 0) != w.f {
				t.Errorf("Float64 = %v, %v (method %v); want %v, %v", got, ok, rows.Float64(0, 0), w.f, w.fok)
			}
			if got, ok := Bool(tc.v); got != w.b || ok != w.bok || rows.Bool(0, 0) != w.b {
				t.Errorf("Bool = %v, %v (method %v); want %v, %v", got, ok, rows.Bool(0, 0), w.b, w.bok)
			}
			if got := rows.IsNull(0, 0); got != w.null {
				t.Errorf("IsNull = %v, want %v", got, w.null)
			}
			got, ok := Time(tc.v)
			if ok != w.tok || ok && !got.Equal(at) || ok != !rows.Time(0, 0).IsZero() {
				t.Errorf("Time = %v, %v (method %v); want %v, %v", got, ok, rows.Time(0, 0), at, w.tok)
			}
		})
	}
}

// TestRowsByName: Col finds a column whatever its case, and a missing
// column reads as NULL rather than as another column.
func TestRowsByName(t *testing.T) {
	rows := &Rows{Columns: []string{"Id", "name"}, Values: [][]any{{int64(1), []byte("a")}, {int64(2), nil}}}
	if c := rows.Col("ID"); c != 0 {
		t.Errorf("Col(ID) = %d", c)
	}
	missing := rows.Col("nope")
	if missing != -1 || !rows.IsNull(0, missing) || rows.String(0, missing) != "" {
		t.Errorf("a missing column: %d %v %q", missing, rows.IsNull(0, missing), rows.String(0, missing))
	}
	if n := rows.Int64(1, missing); n != 0 {
		t.Errorf("Int64 of a missing column: %d", n)
	}
	if got := rows.Record(1); got["Id"] != "2" || got["name"] != "" || len(got) != 2 {
		t.Errorf("Record(1) = %v", got)
	}
	var ids []int64
	for i, r := range rows.All() {
		n := r.Int64(0)
		if i != len(ids) {
			t.Errorf("All: index %d after %d rows", i, len(ids))
		}
		ids = append(ids, n)
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 2 || rows.Len() != 2 {
		t.Errorf("All: %v, Len %d", ids, rows.Len())
	}
}
