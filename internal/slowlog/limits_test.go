package slowlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// outOfRange is a slow log with the values of security finding 12 between
// good events: the lines of the bad values and why they are skipped.
type outOfRange struct {
	log     string
	skipped []SkippedEvent // File left empty
	good    int            // events that are aggregated
}

// outOfRangeLog writes the log; events run at ts (Unix seconds).
func outOfRangeLog(ts int64) outOfRange {
	var b strings.Builder
	line := int64(0)
	w := func(format string, args ...any) int64 {
		fmt.Fprintf(&b, format+"\n", args...)
		line++
		return line
	}
	var o outOfRange
	event := func(qt, lock, sent, examined, stamp, stmt string) (qtLine, rowsLine, stampLine int64) {
		w("# User@Host: app[app] @  [10.0.0.1]")
		w("# Thread_id: 8  Schema: shop  QC_hit: No")
		qtLine = w("# Query_time: %s  Lock_time: %s  Rows_sent: %s  Rows_examined: %s", qt, lock, sent, examined)
		rowsLine = qtLine
		w("# Rows_affected: 0  Bytes_sent: 60")
		stampLine = w("SET timestamp=%s;", stamp)
		w("%s;", stmt)
		return
	}
	now := fmt.Sprint(ts)
	w("# Time: %s", time.Unix(ts, 0).UTC().Format("060102 15:04:05"))
	event("0.500000", "0.000010", "1", "10", now, "SELECT * FROM users WHERE id = 1")
	o.good++
	l, _, _ := event("1e308", "0.000010", "1", "10", now, "SELECT * FROM users WHERE id = 2")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Query_time 1e308 is out of range (at most 315360000 seconds)"})
	l, _, _ = event("1e308", "0.000010", "1", "10", now, "SELECT * FROM users WHERE id = 3")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Query_time 1e308 is out of range (at most 315360000 seconds)"})
	l, _, _ = event("0.1", "0.000010", "1", "18446744073709551616", now, "SELECT * FROM users WHERE id = 4")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Rows_examined 18446744073709551616 is out of range (at most 9007199254740992)"})
	l, _, _ = event("0.1", "0.000010", "-5", "10", now, "SELECT * FROM users WHERE id = 5")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Rows_sent -5 is negative"})
	l, _, _ = event("1e309", "0.000010", "1", "10", now, "SELECT * FROM users WHERE id = 6")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Query_time 1e309 is not a finite number"})
	l, _, _ = event("0.1", "-0.5", "1", "10", now, "SELECT * FROM users WHERE id = 7")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "Lock_time -0.5 is negative"})
	_, _, l = event("0.1", "0.000010", "1", "10", "99999999999999999999", "SELECT * FROM users WHERE id = 8")
	o.skipped = append(o.skipped, SkippedEvent{Line: l, Reason: "SET timestamp=99999999999999999999 is out of range (0 to 253402300799)"})
	// Invalid UTF-8 and a NUL: aggregated, the text replaced when stored.
	event("0.250000", "0.000010", "1", "1", now, "SELECT * FROM us\xffers WHERE name = 'caf\xe9\x00'")
	o.good++
	event("0.750000", "0.000010", "2", "20", now, "SELECT * FROM users WHERE id = 9")
	o.good++
	o.log = b.String()
	return o
}

// TestOutOfRangeEventsAreSkipped: events with numbers that are not
// finite, negative or beyond what a server reports are skipped with their
// line and reason, whatever the blocks and workers, and the sums stay
// finite.
func TestOutOfRangeEventsAreSkipped(t *testing.T) {
	o := outOfRangeLog(1767225600)
	for _, tc := range []struct {
		workers, block int
	}{{1, 8 << 20}, {2, 300}, {1, 300}} {
		t.Run(fmt.Sprintf("workers=%d block=%d", tc.workers, tc.block), func(t *testing.T) {
			d, err := Run(context.Background(), []Input{{Name: "finding12.log", R: strings.NewReader(o.log)}},
				Options{Workers: tc.workers, BlockSize: tc.block, Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			if d.Events != uint64(o.good) || d.Skipped != uint64(len(o.skipped)) {
				t.Fatalf("events %d skipped %d, want %d and %d: %+v", d.Events, d.Skipped, o.good, len(o.skipped), d.SkippedEvents)
			}
			for i, want := range o.skipped {
				want.File = "finding12.log"
				if got := d.SkippedEvents[i]; got != want {
					t.Errorf("skipped event %d:\n got  %+v\n want %+v", i, got, want)
				}
			}
			c := d.Classes["select * from users where id = ?"]
			if c == nil || c.Events != 2 || c.Num[AttrQueryTime].Sum != 1.25 || c.Num[AttrRowsExamined].Sum != 30 {
				t.Fatalf("class of the good events: %+v", c)
			}
			for a := range d.Totals.Num {
				if m := d.Totals.Num[a]; math.IsInf(m.Sum, 0) || math.IsNaN(m.Sum) || m.Min < 0 {
					t.Errorf("%s: %+v", numAttrNames[a], m)
				}
			}
			js, err := json.Marshal(d.Report(ReportOptions{}))
			if err != nil {
				t.Fatalf("the JSON report does not encode: %v", err)
			}
			if !bytes.Contains(js, fmt.Appendf(nil, `"skipped":%d,`, len(o.skipped))) {
				t.Errorf("the JSON report does not count the skipped events: %s", js[max(0, len(js)-400):])
			}
		})
	}
}

// Records from servers get the same checks: counter deltas that went
// backwards, NaN from a driver, times out of range.
func TestOutOfRangeRecordsAreSkipped(t *testing.T) {
	tests := []struct {
		name string
		r    Record
		why  string // "" for aggregated
	}{
		{"good", Record{Query: "SELECT 1", QueryTime: 0.5}, ""},
		{"batch of long calls", Record{Query: "SELECT 1", Calls: 1000, QueryTime: 1000 * 3600}, ""},
		{"negative delta", Record{Query: "SELECT 1", Calls: 2, QueryTime: -1}, "query time -0.5 is negative"},
		{"NaN", Record{Query: "SELECT 1", QueryTime: math.NaN()}, "query time NaN is not a finite number"},
		{"huge", Record{Query: "SELECT 1", QueryTime: 1e308}, "query time 1e+308 is out of range (at most 315360000 seconds)"},
		{"rows wrapped", func() Record {
			r := Record{Query: "SELECT 1", QueryTime: 1}
			r.Set(AttrRowsExamined, -9223372036854775808)
			return r
		}(), "Rows_examined -9.223372036854776e+18 is negative"},
		{"time", Record{Query: "SELECT 1", QueryTime: 1, Time: time.Unix(1<<40, 0)}, "time 1099511627776 is out of range (0 to 253402300799)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDigest()
			c := d.AddRecord(tt.r, time.Hour, "src 1")
			if tt.why == "" {
				if c == nil || d.Skipped != 0 || d.Events != max(tt.r.Calls, 1) {
					t.Fatalf("not aggregated: %+v", d.SkippedEvents)
				}
				return
			}
			if c != nil || d.Events != 0 || d.Skipped != 1 || d.SkippedEvents[0] != (SkippedEvent{File: "src 1", Reason: tt.why}) {
				t.Fatalf("got class %v, events %d, skipped %+v; want %q", c != nil, d.Events, d.SkippedEvents, tt.why)
			}
		})
	}
}

func TestSaturation(t *testing.T) {
	for _, tt := range []struct {
		a, b, want int64
	}{{1, 2, 3}, {math.MaxInt64, 1, math.MaxInt64}, {math.MaxInt64 - 1, math.MaxInt64, math.MaxInt64}, {-5, 3, -2}} {
		if got := addSatInt(tt.a, tt.b); got != tt.want {
			t.Errorf("addSatInt(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	for _, tt := range []struct {
		f    float64
		want int64
	}{{1.5, 1}, {-3, 0}, {math.NaN(), 0}, {1.8446744073709552e19, math.MaxInt64}, {math.Inf(1), math.MaxInt64}} {
		if got := toInt64(tt.f); got != tt.want {
			t.Errorf("toInt64(%g) = %d, want %d", tt.f, got, tt.want)
		}
	}
	if got := addSat(math.MaxFloat64, math.MaxFloat64); got != math.MaxFloat64 {
		t.Errorf("addSat overflow = %g", got)
	}
	r := bucketRow{qt: math.Inf(1), qtMin: math.NaN(), qtMax: math.Inf(1), lock: -1, calls: -2, rowsExamined: math.MinInt64}
	r.sanitize()
	if r.qt != math.MaxFloat64 || r.qtMin != 0 || r.qtMax != math.MaxFloat64 || r.lock != 0 || r.calls != 0 || r.rowsExamined != 0 {
		t.Errorf("sanitize: %+v", r)
	}
}

func TestExampleText(t *testing.T) {
	long := strings.Repeat("é", maxExample) // 2 bytes each
	ex, cut := shortenExample("SELECT '"+long+"'", engine.MariaDB)
	if !cut || !utf8.ValidString(ex) || !strings.HasSuffix(ex, truncatedMark) {
		t.Errorf("truncated example: cut=%v valid=%v", cut, utf8.ValidString(ex))
	}
	if got := validText("a\xffb\x00c"); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("validText = %q", got)
	}
}
