package slowlog_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// TestUploadOutOfRange uploads security finding 12's slow log: the events
// with numbers out of range are skipped and reported with their lines,
// the rest is stored, and the top list and the class answer finite
// numbers that encode as JSON, also over rows stored before the checks.
func TestUploadOutOfRange(t *testing.T) {
	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstanceOn(t, "alias", "maria", engine.MariaDB, 3306, "u", "p")
	checkOutOfRangeUpload(t, f, "maria")
}

// checkOutOfRangeUpload is TestUploadOutOfRange on any store.
func checkOutOfRangeUpload(t *testing.T, f *fixture, instance string) {
	t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log, skipped, good := slowlog.OutOfRangeLog(at.Unix())
	up, err := f.svc.Upload(f.ctx, instance, strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if up.Events != uint64(good) || up.Skipped != uint64(len(skipped)) || len(up.SkippedEvents) != len(skipped) {
		t.Fatalf("upload: %+v", up)
	}
	for i, want := range skipped {
		want.File = "upload"
		if up.SkippedEvents[i] != want {
			t.Errorf("skipped %d: %+v, want %+v", i, up.SkippedEvents[i], want)
		}
	}
	all := slowlog.Filter{Since: at.Add(-time.Hour), Until: at.Add(time.Hour), Limit: 100}
	check := func(what string, calls int) {
		t.Helper()
		top, err := f.svc.Top(f.ctx, f.dba, instance, all)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(top); err != nil {
			t.Fatalf("%s: the top list does not encode: %v", what, err)
		}
		var bad string
		for _, c := range top.Top {
			if !utf8.ValidString(c.Fingerprint) || !utf8.ValidString(c.Distillate) {
				t.Errorf("%s: invalid UTF-8 in %q", what, c.Fingerprint)
			}
			if strings.Contains(c.Fingerprint, "us\uFFFDers") {
				bad = c.QueryID
			}
		}
		if top.Classes != 2 || top.Calls != int64(calls) || bad == "" {
			t.Fatalf("%s: top %+v", what, top)
		}
		d, err := f.svc.Class(f.ctx, f.dba, instance, bad, all)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("%s: the class does not encode: %v", what, err)
		}
		if !utf8.ValidString(d.Example) || strings.ContainsRune(d.Example, 0) {
			t.Errorf("%s: example %q", what, d.Example)
		}
		sel, err := f.svc.Class(f.ctx, f.dba, instance, slowlog.QueryID("select * from users where id = ?"), all)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(sel); err != nil {
			t.Fatalf("%s: the class does not encode: %v", what, err)
		}
		if what == "as uploaded" && (sel.Calls != 2 || sel.QueryTime != 1.25 || sel.Max != 0.75 || sel.RowsExamined != 30 || sel.RowsSent != 3) {
			t.Errorf("%s: class %+v", what, sel.TopClass)
		}
		if math.IsInf(sel.QueryTime, 0) || math.IsNaN(sel.QueryTime) || sel.RowsExamined < 0 {
			t.Errorf("%s: class %+v", what, sel.TopClass)
		}
	}
	check("as uploaded", good)

	// Rows written before the range checks existed: +Inf and wrapped
	// counts read as saturated values.
	if _, err := f.db.ExecContext(f.ctx, `UPDATE slowlog_buckets SET query_time = ?, query_time_max = ?, rows_examined = ?, lock_time = ?`,
		math.Inf(1), math.Inf(1), int64(math.MinInt64), math.Inf(1)); err != nil {
		t.Fatal(err)
	}
	check("over +Inf rows", good)
	// A second upload merges into those rows without overflowing.
	if _, err := f.svc.Upload(f.ctx, instance, strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	check("merged into +Inf rows", 2*good)

	// A log of nothing but bad events is refused, and says why.
	_, err = f.svc.Upload(f.ctx, instance, strings.NewReader("# Time: 260101 00:00:00\n# User@Host: a[a] @  [10.0.0.1]\n"+
		"# Query_time: 1e308  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\nSET timestamp=1767225600;\nSELECT 1;\n"))
	if err == nil || !strings.Contains(err.Error(), "all 1 events have numbers out of range, the first at line 3: Query_time 1e308") {
		t.Errorf("upload of bad events only: %v", err)
	}
}
