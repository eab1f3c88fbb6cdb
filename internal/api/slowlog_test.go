package api_test

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// TestSlowlogOutOfRange is security finding 12: a slow log with
// "Query_time: 1e308" twice, "Rows_examined: 18446744073709551616",
// "Rows_sent: -5" and invalid UTF-8. The upload reports the skipped events
// with their lines; the top and class endpoints answer 200 with JSON whose
// numbers are the good events'.
func TestSlowlogOutOfRange(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	f.api.Slowlog = slowlog.NewService(f.db, f.api.Inventory, slog.New(slog.DiscardHandler))
	var lg strings.Builder
	event := func(qt, sent, examined, stmt string) {
		fmt.Fprintf(&lg, "# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: shop  QC_hit: No\n"+
			"# Query_time: %s  Lock_time: 0.000010  Rows_sent: %s  Rows_examined: %s\n# Rows_affected: 0  Bytes_sent: 60\n"+
			"SET timestamp=1767225600;\n%s;\n", qt, sent, examined, stmt)
	}
	lg.WriteString("# Time: 260101 00:00:00\n")
	event("0.5", "1", "10", "SELECT * FROM users WHERE id = 1")                   // lines 2-7
	event("1e308", "1", "10", "SELECT * FROM users WHERE id = 2")                 // query time on line 10
	event("1e308", "1", "10", "SELECT * FROM users WHERE id = 3")                 // 16
	event("0.1", "1", "18446744073709551616", "SELECT * FROM users WHERE id = 4") // 22
	event("0.1", "-5", "10", "SELECT * FROM users WHERE id = 5")                  // 28
	event("0.25", "1", "1", "SELECT * FROM users WHERE name = 'caf\xe9' AND `t\xff` = 1")

	var up slowlog.UploadResult
	if code := f.do(t, "dora", "POST", "/api/v1/instances/i1/slowlog", lg.String(), &up); code != http.StatusCreated {
		t.Fatalf("upload: %d %+v", code, up)
	}
	want := []slowlog.SkippedEvent{
		{File: "upload", Line: 10, Reason: "Query_time 1e308 is out of range (at most 315360000 seconds)"},
		{File: "upload", Line: 16, Reason: "Query_time 1e308 is out of range (at most 315360000 seconds)"},
		{File: "upload", Line: 22, Reason: "Rows_examined 18446744073709551616 is out of range (at most 9007199254740992)"},
		{File: "upload", Line: 28, Reason: "Rows_sent -5 is negative"},
	}
	if up.Events != 2 || up.Skipped != 4 || fmt.Sprint(up.SkippedEvents) != fmt.Sprint(want) {
		t.Fatalf("upload: %+v\nwant skipped %+v", up, want)
	}

	rng := "?since=2025-12-31&until=2026-01-02"
	var top slowlog.TopResult
	if code := f.do(t, "dev", "GET", "/api/v1/instances/i1/slowlog/top"+rng, nil, &top); code != http.StatusOK {
		t.Fatalf("top: %d", code)
	}
	if top.Classes != 2 || top.Calls != 2 || top.Time != 0.75 {
		t.Fatalf("top: %+v", top)
	}
	for _, c := range top.Top {
		if c.RowsSent != 1 || c.RowsExamined < 0 || math.IsInf(c.QueryTime, 0) {
			t.Errorf("class %s: %+v", c.Fingerprint, c)
		}
		if c.Fingerprint != "select * from users where id = ?" && c.Fingerprint != "select * from users where name = ? and `t\uFFFD` = ?" {
			t.Errorf("fingerprint %q", c.Fingerprint)
		}
	}
	var cls slowlog.ClassDetail
	id := slowlog.QueryID("select * from users where id = ?")
	if code := f.do(t, "dev", "GET", "/api/v1/instances/i1/slowlog/classes/"+id+rng, nil, &cls); code != http.StatusOK {
		t.Fatalf("class: %d", code)
	}
	if cls.Calls != 1 || cls.QueryTime != 0.5 || cls.Max != 0.5 || cls.RowsExamined != 10 || cls.Histogram[5] != 1 {
		t.Errorf("class: %+v", cls)
	}
}
