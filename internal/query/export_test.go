package query

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Export runs one query with the console's checks, grants and masks, no
// console row limit, bounded by rows and bytes, audited with the ticket.
func TestExport(t *testing.T) {
	f := newFixture(t, Config{RowLimit: 5, StatementTimeout: 5 * time.Second})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	export := func(req ExportRequest) (string, *ExportResult, error) {
		var buf bytes.Buffer
		if req.MaxRows == 0 {
			req.MaxRows = 10000
		}
		if req.MaxBytes == 0 {
			req.MaxBytes = 1 << 20
		}
		res, err := f.svc.Export(f.as(f.dev), f.dev, req, &buf)
		return buf.String(), res, err
	}
	for _, inst := range []struct{ name, db string }{{"orders-1", "shop"}, {"pg-1", "app"}} {
		csv, res, err := export(ExportRequest{Instance: inst.name, Database: inst.db, Statement: "SELECT id, phone FROM users ORDER BY id", Ticket: "T-42"})
		if err != nil || csv != "id,phone\n1,138****5678\n2,139****4321\n" || res.Rows != 2 || res.Truncated != "" || res.Bytes != int64(len(csv)) || res.Columns[1].Masked != MaskPhone {
			t.Errorf("%s: %q %+v %v", inst.name, csv, res, err)
		}
		e := lastAudit(t, f, "query.export")
		if e.User != "dev" || e.Target != inst.name || e.Detail["ticket"] != "T-42" || fmt.Sprint(e.Detail["rows"]) != "2" || fmt.Sprint(e.Detail["masked"]) != "[phone]" {
			t.Errorf("%s: audit %+v", inst.name, e)
		}
		// No console row limit (5 here): the export's own bound.
		csv, res, err = export(ExportRequest{Instance: inst.name, Database: inst.db, Statement: "SELECT n FROM seq ORDER BY n", MaxRows: 1000})
		if err != nil || res.Rows != 1000 || res.Truncated != "rows" || strings.Count(csv, "\n") != 1001 {
			t.Errorf("%s: max rows: %d rows, truncated %q, %v", inst.name, res.Rows, res.Truncated, err)
		}
		csv, res, err = export(ExportRequest{Instance: inst.name, Database: inst.db, Statement: "SELECT n FROM seq ORDER BY n", MaxBytes: 12})
		if err != nil || csv != "n\n1\n2\n3\n4\n5\n" || res.Truncated != "bytes" || res.Rows != 5 {
			t.Errorf("%s: max bytes: %q %+v %v", inst.name, csv, res, err)
		}
	}
	for _, tc := range []struct{ instance, db, stmt, rule string }{
		{"orders-1", "shop", "SELECT id, phone FROM users INTO OUTFILE '/tmp/dbfleet-export.txt'", RuleInto},
		{"orders-1", "shop", "SELECT LOAD_FILE('/etc/hostname') f, (SELECT k FROM secret.keys LIMIT 1) s", RuleFunction},
		{"orders-1", "shop", "SELECT (SELECT k FROM secret.keys LIMIT 1) s", RuleNotGranted},
		{"orders-1", "shop", "SELECT 1 /*T! , 'a */ , (SELECT k FROM secret.keys LIMIT 1) /*' */", RuleSpecialComment},
		{"orders-1", "shop", "SHOW TABLES", RuleStatement},
		{"orders-1", "shop", "SELECT * FROM users FOR UPDATE", RuleLockingRead},
		{"pg-1", "app", "SELECT pg_read_file('/etc/hostname')", RuleFunction},
		{"cache-1", "0", "GET x", RuleEngine},
	} {
		csv, _, err := export(ExportRequest{Instance: tc.instance, Database: tc.db, Statement: tc.stmt, Ticket: "T-43"})
		wantRule(t, tc.stmt, err, tc.rule)
		if csv != "" {
			t.Errorf("%s: wrote %q", tc.stmt, csv)
		}
		e := lastAudit(t, f, "query.refused")
		if e.Detail["ticket"] != "T-43" || e.Detail["export"] != true || e.Detail["rule"] != tc.rule {
			t.Errorf("%s: audit %+v", tc.stmt, e)
		}
	}
	_, _, err := export(ExportRequest{Instance: "orders-1", Database: "shop", Statement: "SELECT COUNT(*) FROM seq a, seq b, seq c WHERE a.n + b.n + c.n = -1", Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "ran longer than the 1s limit") {
		t.Errorf("timeout: %v", err)
	}
	for _, bad := range []ExportRequest{{Instance: "orders-1", Statement: "SELECT 1", MaxRows: -1, MaxBytes: 10}, {Instance: "orders-1", Statement: "SELECT 1", MaxRows: 1, MaxBytes: -1}} {
		if _, err := f.svc.Export(f.as(f.dev), f.dev, bad, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "must be at least 1") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// A writer that fails stops the export with its error.
	_, err = f.svc.Export(f.as(f.dev), f.dev, ExportRequest{Instance: "orders-1", Database: "shop", Statement: "SELECT 1", MaxRows: 1, MaxBytes: 100}, failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
