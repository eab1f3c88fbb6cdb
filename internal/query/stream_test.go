package query

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
)

// Stream reads a report's dataset row by row with the console's checks,
// for a viewer without query grants, masked, capped, and audited with the
// report's name.
func TestStream(t *testing.T) {
	f := newFixture(t, Config{RowLimit: 5, StatementTimeout: 5 * time.Second})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	read := func(req ReportRequest) ([][]any, *RowStream, error) {
		t.Helper()
		r, err := f.svc.Stream(f.as(f.viewer), f.viewer, req)
		if err != nil {
			return nil, nil, err
		}
		var rows [][]any
		for r.Next() {
			rows = append(rows, append([]any(nil), r.Row()...))
		}
		err = r.Err()
		if cerr := r.Close(); cerr != nil {
			t.Errorf("close: %v", cerr)
		}
		return rows, r, err
	}
	for _, inst := range []struct{ name, db, param string }{{"orders-1", "shop", "?"}, {"pg-1", "app", "$1"}} {
		t.Run(inst.name, func(t *testing.T) {
			rows, r, err := read(ReportRequest{Report: "contacts", Instance: inst.name, Database: inst.db, SQL: "SELECT id, phone FROM users ORDER BY id"})
			if err != nil || fmt.Sprint(rows) != "[[1 138****5678] [2 139****4321]]" || r.Truncated() {
				t.Fatalf("rows %v, truncated %v, err %v", rows, r != nil && r.Truncated(), err)
			}
			e := lastAudit(t, f, "query.report")
			if e.User != "vic" || e.Target != inst.name || e.Detail["report"] != "contacts" || fmt.Sprint(e.Detail["rows"]) != "2" || fmt.Sprint(e.Detail["masked"]) != "[phone]" {
				t.Errorf("audit %+v", e)
			}
			// Parameters are bound, and the row cap is the request's, not
			// the console's (5).
			rows, r, err = read(ReportRequest{Report: "seq", Instance: inst.name, Database: inst.db, SQL: "SELECT n FROM seq WHERE n > " + inst.param + " ORDER BY n", Args: []any{100}, MaxRows: 50})
			if err != nil || len(rows) != 50 || fmt.Sprint(rows[0]) != "[101]" || !r.Truncated() {
				t.Fatalf("capped: %d rows (first %v), truncated %v, err %v", len(rows), rows, r != nil && r.Truncated(), err)
			}
			if e := lastAudit(t, f, "query.report"); e.Detail["truncated"] != true || fmt.Sprint(e.Detail["rows"]) != "50" {
				t.Errorf("capped audit %+v", e)
			}
			// Not a read: refused before anything runs, audited.
			_, _, err = read(ReportRequest{Report: "bad", Instance: inst.name, Database: inst.db, SQL: "DELETE FROM users"})
			wantRule(t, "delete", err, RuleStatement)
			if e := lastAudit(t, f, "query.refused"); e.Detail["report"] != "bad" || e.User != "vic" {
				t.Errorf("refused audit %+v", e)
			}
			// The timeout applies on the server.
			_, _, err = read(ReportRequest{Report: "slow", Instance: inst.name, Database: inst.db, Timeout: time.Second,
				SQL: "SELECT COUNT(*) FROM seq a, seq b, seq c WHERE a.n + b.n + c.n = -1"})
			if err == nil || !strings.Contains(err.Error(), "ran longer than the 1s limit") {
				t.Errorf("timeout: %v", err)
			}
			if e := lastAudit(t, f, "query.failed"); e.Detail["report"] != "slow" {
				t.Errorf("failed audit %+v", e)
			}
		})
	}
	if _, err := f.svc.Stream(f.as(f.viewer), f.viewer, ReportRequest{Instance: "orders-1", SQL: "SELECT 1"}); err == nil {
		t.Error("a stream without a report name ran")
	}
}

// A report whose instance the viewer chose (a parameter) reads only with
// the viewer's own query grants on it: the report's permission covers
// the instances its file names, not any instance a viewer types.
func TestStreamChosenInstance(t *testing.T) {
	f := newFixture(t, Config{RowLimit: 5, StatementTimeout: 5 * time.Second})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	req := func(instance, db string, chosen bool) ReportRequest {
		return ReportRequest{Report: "pick", Instance: instance, Database: db, SQL: "SELECT id FROM users ORDER BY id", Chosen: chosen}
	}
	cases := []struct {
		name string
		who  auth.Principal
		req  ReportRequest
		ok   bool
		rule string
	}{
		{"named by the report", f.viewer, req("orders-1", "shop", false), true, ""},
		{"chosen, viewer without query rights", f.viewer, req("orders-1", "shop", true), false, ""},
		{"chosen, developer without a grant there", f.dev, req("pg-1", "app", true), false, RuleNoGrant},
		{"chosen, developer's grant covers it", f.dev, req("orders-1", "shop", true), true, ""},
		{"chosen, a database not granted", f.dev, req("orders-1", "test", true), false, RuleNotGranted},
		{"chosen, DBA (query.grant)", f.dba, req("pg-1", "app", true), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := f.svc.Stream(f.as(c.who), c.who, c.req)
			if err == nil {
				for r.Next() {
				}
				err = r.Err()
				r.Close()
			}
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if c.rule != "" {
				wantRule(t, c.name, err, c.rule)
			}
		})
	}
	// The picker offers only what each may query.
	all := []string{"orders-1", "orders-2", "pg-1"}
	for _, c := range []struct {
		who  auth.Principal
		want string
	}{{f.viewer, "[]"}, {f.ops, "[]"}, {f.dev, "[orders-1]"}, {f.dba, "[orders-1 orders-2 pg-1]"}} {
		got, err := f.svc.Queryable(f.ctx, c.who, all)
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%s may query %v (%v), want %s", c.who.User, got, err, c.want)
		}
	}
}
