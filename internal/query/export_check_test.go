package query

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
)

// CheckExport refuses, without connecting, what Export would refuse before
// it connects, with the same rule, and audits the refusal with the ticket;
// what it passes, Export checks again.
func TestCheckExport(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	// gone-1 names a port nothing listens on: a check that connected
	// would fail there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "gone-1", Engine: engine.MariaDB, Host: "h1", Port: port, User: "root", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	f.grant(t, NewGrant{User: "dev", Instance: "gone-1", Database: "shop"})

	req := func(instance, db, stmt string) ExportRequest {
		return ExportRequest{Instance: instance, Database: db, Statement: stmt, MaxRows: 100, MaxBytes: 1 << 20, Ticket: "ticket/7"}
	}
	for _, tc := range []struct {
		name, user, instance, db, stmt string
		rule                           string // "" when the check passes
		// exportFails: Export cannot compare the rule, it needs the
		// server first (to read how it compares names).
		exportFails bool
	}{
		{"plain", "dev", "orders-1", "shop", "SELECT id, phone FROM users", "", false},
		{"plain pg", "dev", "pg-1", "app", "SELECT id, phone FROM users", "", false},
		{"outfile", "dev", "orders-1", "shop", "SELECT id, phone, email FROM users INTO OUTFILE '/var/lib/mysql-files/export.txt'", RuleInto, false},
		{"load_file", "dev", "orders-1", "shop", "SELECT LOAD_FILE('/etc/hostname') f, (SELECT k FROM secret.keys LIMIT 1) s, (SELECT GROUP_CONCAT(phone) FROM shop.users) p", RuleFunction, false},
		{"other database", "dev", "orders-1", "shop", "SELECT (SELECT k FROM secret.keys LIMIT 1) s, (SELECT GROUP_CONCAT(phone) FROM shop.users) p", RuleNotGranted, false},
		{"no grant", "ops", "orders-1", "shop", "SELECT id FROM users", RuleNoGrant, false},
		{"viewer", "vic", "orders-1", "shop", "SELECT id FROM users", "permission", false},
		{"locking", "dev", "orders-1", "shop", "SELECT * FROM users FOR UPDATE", RuleLockingRead, false},
		{"special comment", "dev", "orders-1", "shop", "SELECT 1 /*!50000 , 2 */", RuleSpecialComment, false},
		{"two statements", "dev", "orders-1", "shop", "SELECT 1; SELECT 2", RuleMultiStatement, false},
		{"not a query", "dev", "orders-1", "shop", "SHOW TABLES", RuleStatement, false},
		{"pg file read", "dev", "pg-1", "app", "SELECT pg_read_file('/etc/hostname')", RuleFunction, false},
		{"pg into", "dev", "pg-1", "app", "SELECT * INTO copy_of_users FROM users", RuleInto, false},
		{"redis", "dev", "cache-1", "0", "GET x", RuleEngine, false},
		// No connection: the server is gone, the check still answers.
		{"gone, granted", "dev", "gone-1", "shop", "SELECT id FROM users", "", false},
		{"gone, not granted", "dev", "gone-1", "shop", "SELECT k FROM secret.keys", RuleNotGranted, true},
		{"gone, outfile", "dev", "gone-1", "shop", "SELECT 1 INTO OUTFILE '/tmp/x'", RuleInto, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, ok := map[string]auth.Principal{"dev": f.dev, "ops": f.ops, "vic": f.viewer}[tc.user]
			if !ok {
				t.Fatalf("unknown user %s", tc.user)
			}
			before := auditCount(t, f)
			err := f.svc.CheckExport(f.as(pr), pr, req(tc.instance, tc.db, tc.stmt))
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				if n := auditCount(t, f); n != before {
					t.Fatalf("a passed check wrote %d audit entries", n-before)
				}
				return
			}
			if tc.rule == "permission" {
				if err == nil {
					t.Fatal("a viewer's export passed the check")
				}
			} else {
				wantRule(t, tc.stmt, err, tc.rule)
			}
			e := lastAudit(t, f, "query.refused")
			if e.User != tc.user || e.Target != tc.instance || e.Detail["ticket"] != "ticket/7" || e.Detail["check"] != true ||
				e.Detail["export"] != true || e.Detail["rule"] != tc.rule {
				t.Fatalf("audit %+v", e)
			}
			// Export refuses it too, with the same rule.
			var buf bytes.Buffer
			_, xerr := f.svc.Export(f.as(pr), pr, req(tc.instance, tc.db, tc.stmt), &buf)
			if tc.exportFails {
				if xerr == nil || !strings.Contains(xerr.Error(), "connection refused") {
					t.Fatalf("export on a gone server: %v", xerr)
				}
			} else if tc.rule == "permission" {
				if xerr == nil {
					t.Fatal("a viewer's export ran")
				}
			} else {
				wantRule(t, tc.stmt, xerr, tc.rule)
			}
			if buf.Len() != 0 {
				t.Fatalf("export wrote %q", buf.String())
			}
		})
	}

	// Names: before the console has read orders-1's lower_case_table_names
	// the check compares them case-insensitively, so it passes SHOP.users
	// (the more permissive reading); Export reads the setting (0 here: the
	// server tells shop and SHOP apart) and refuses it. Once known, the
	// check refuses it too.
	g := newFixture(t, Config{})
	g.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	upper := req("orders-1", "", "SELECT id FROM SHOP.users")
	if err := g.svc.CheckExport(g.as(g.dev), g.dev, upper); err != nil {
		t.Fatalf("check before the setting is known: %v", err)
	}
	_, err = g.svc.Export(g.as(g.dev), g.dev, upper, &bytes.Buffer{})
	wantRule(t, "export SHOP.users", err, RuleNotGranted)
	wantRule(t, "check SHOP.users once the setting is known", g.svc.CheckExport(g.as(g.dev), g.dev, upper), RuleNotGranted)
}

func auditCount(t *testing.T, f *fixture) int {
	t.Helper()
	es, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
