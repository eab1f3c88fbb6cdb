package query

import (
	"context"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// `instance check` reports the reader: missing, ok, too powerful (and
// what), for managed readers and DBA-set credentials alike.
func TestInstanceCheckReportsReader(t *testing.T) {
	f := newFixture(t, Config{})
	f.inv.ExtraChecks = []inventory.ExtraCheck{f.svc}
	ctx := context.Background()
	// checks runs `instance check` and returns its findings by name.
	checks := func(instance string) map[string]inventory.CheckFinding {
		t.Helper()
		res, err := f.inv.Check(ctx, instance)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]inventory.CheckFinding{}
		for _, c := range res.Checks {
			out[c.Name] = c
		}
		return out
	}
	check := func(instance string) inventory.CheckFinding {
		t.Helper()
		cs := checks(instance)
		if len(cs) != 2 {
			t.Fatalf("checks of %s: %+v, want reader and reader-all", instance, cs)
		}
		return cs["reader"]
	}
	checkAll := func(instance string) inventory.CheckFinding {
		t.Helper()
		cs := checks(instance)
		if len(cs) != 2 {
			t.Fatalf("checks of %s: %+v, want reader and reader-all", instance, cs)
		}
		return cs["reader-all"]
	}
	expect := func(what string, got inventory.CheckFinding, status string, detail ...string) {
		t.Helper()
		if got.Status != status {
			t.Errorf("%s: %s (%s), want %s", what, got.Status, got.Detail, status)
		}
		for _, d := range detail {
			if !strings.Contains(got.Detail, d) {
				t.Errorf("%s: %q does not mention %q", what, got.Detail, d)
			}
		}
	}
	expect("no reader yet", check("orders-1"), ReaderMissing, "dbfleet query reader sync orders-1")
	expect("no read-all reader yet", checkAll("orders-1"), ReaderMissing, "read-all reader", "dbfleet query reader sync orders-1")
	if res, err := f.inv.Check(ctx, "cache-1"); err != nil || len(res.Checks) != 1 || res.Checks[0].Name != "reader" {
		t.Errorf("redis, one reader: %+v %v", res.Checks, err)
	}
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "public.users"})
	expect("managed", check("orders-1"), ReaderOK, "managed account dbfleet_ro_orders-1@127.0.0.1", "SELECT on `shop`.*")
	servers(t).cluster.WaitSync(t)
	expect("on the replica", check("orders-2"), ReaderOK, "dbfleet_ro_orders-1@127.0.0.1")
	expect("pg managed", check("pg-1"), ReaderOK, "dbfleet_ro_pg-1", "SELECT on app/public")
	expect("read-all not used yet", checkAll("orders-1"), ReaderMissing)
	// A DBA's first query creates the read-all reader: every non-system
	// database, nothing more.
	for _, q := range []struct{ instance, db, sql string }{{"orders-1", "", "SELECT 1"}, {"pg-1", "app", "SELECT 1"}} {
		if _, err := f.svc.Run(f.as(f.dba), f.dba, Request{Instance: q.instance, Database: q.db, Statement: q.sql, Primary: true}); err != nil {
			t.Fatal(err)
		}
	}
	all := checkAll("orders-1")
	expect("read-all", all, ReaderOK, "managed account dbfleet_ra_orders-1@127.0.0.1", "`shop`.*", "`crm`.*", "`secret`.*")
	if strings.Contains(all.Detail, "mysql") || strings.Contains(all.Detail, "schema`") || strings.Contains(all.Detail, "*.*") {
		t.Errorf("read-all reader reaches a system database: %s", all.Detail)
	}
	servers(t).cluster.WaitSync(t)
	expect("read-all on the replica", checkAll("orders-2"), ReaderOK, "dbfleet_ra_orders-1@127.0.0.1")
	expect("pg read-all", checkAll("pg-1"), ReaderOK, "dbfleet_ra_pg-1", "app/crm", "app/public")

	p := servers(t).cluster.Primary()
	p.Exec(t, "GRANT FILE, PROCESS ON *.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'", "GRANT INSERT ON shop.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'",
		"GRANT SELECT ON mysql.user TO 'dbfleet_ro_orders-1'@'127.0.0.1'",
		"GRANT SUPER ON *.* TO 'dbfleet_ra_orders-1'@'127.0.0.1'", "GRANT SELECT ON mysql.* TO 'dbfleet_ra_orders-1'@'127.0.0.1'")
	expect("too powerful", check("orders-1"), ReaderTooPowerful, "PROCESS, FILE on *.*", "INSERT on `shop`.*", "reads the system database mysql")
	expect("read-all too powerful", checkAll("orders-1"), ReaderTooPowerful, "SUPER on *.*", "reads the system database mysql", "dbfleet_ra_orders-1")
	pg := pgAdmin(t, "app")
	for _, st := range []string{"ALTER ROLE \"dbfleet_ro_pg-1\" SUPERUSER", "GRANT pg_read_all_data TO \"dbfleet_ro_pg-1\"", "GRANT INSERT ON users TO \"dbfleet_ro_pg-1\"",
		"GRANT SELECT ON pg_catalog.pg_statistic TO \"dbfleet_ro_pg-1\"", "GRANT pg_read_all_data TO \"dbfleet_ra_pg-1\""} {
		if _, err := pg.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	expect("pg too powerful", check("pg-1"), ReaderTooPowerful, "SUPERUSER", "member of role pg_read_all_data", "INSERT on public.users in database app",
		"SELECT on pg_catalog.pg_statistic (a system catalog)")
	expect("pg read-all too powerful", checkAll("pg-1"), ReaderTooPowerful, "member of role pg_read_all_data", "dbfleet_ra_pg-1")
	for _, n := range []string{"orders-1", "pg-1"} {
		if _, err := f.svc.SyncReader(f.as(f.dba), f.dba, n); err != nil {
			t.Fatal(err)
		}
	}
	expect("synchronised", check("orders-1"), ReaderOK)
	expect("read-all synchronised", checkAll("orders-1"), ReaderOK)
	expect("pg synchronised", check("pg-1"), ReaderOK)
	expect("pg read-all synchronised", checkAll("pg-1"), ReaderOK)
	shown, err := f.svc.ShowReader(f.as(f.dba), f.dba, "orders-2")
	if err != nil || len(shown) != 2 {
		t.Fatalf("show: %+v %v", shown, err)
	}
	for i, want := range []struct{ kind, user string }{{"grants", "dbfleet_ro_orders-1"}, {"all", "dbfleet_ra_orders-1"}} {
		if r := shown[i]; r.Instance != "orders-1" || r.Kind != want.kind || r.User != want.user || r.Check == nil || r.Check.Status != ReaderOK {
			t.Errorf("show %d: %+v %+v", i, r, r.Check)
		}
	}

	// Dropped by hand: missing; synchronised: back, same password.
	p.Exec(t, "DROP USER 'dbfleet_ro_orders-1'@'127.0.0.1'", "DROP USER 'dbfleet_ra_orders-1'@'127.0.0.1'")
	expect("dropped", check("orders-1"), ReaderMissing, "does not exist")
	expect("read-all dropped", checkAll("orders-1"), ReaderMissing, "dbfleet_ra_orders-1@127.0.0.1 does not exist")
	f.svc.readerPass(ctx, true)
	expect("re-created", check("orders-1"), ReaderOK)
	expect("read-all re-created", checkAll("orders-1"), ReaderOK, "`secret`.*")

	// A DBA-set credential is judged the same way.
	c := servers(t).cluster.Nodes[0]
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: c.User, Password: c.Password}); err != nil {
		t.Fatal(err)
	}
	if cs := checks("orders-1"); len(cs) != 1 {
		t.Errorf("a DBA-set credential serves every read, one finding: %+v", cs)
	}
	expect("DBA-set superuser", checks("orders-1")["reader"], ReaderTooPowerful, "ALL PRIVILEGES on *.*", "GRANT OPTION", "DBA-set account "+c.User)
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: "reader", Password: "reader-pass"}); err != nil {
		t.Fatal(err)
	}
	expect("DBA-set reader", checks("orders-1")["reader"], ReaderOK, "DBA-set account reader", "SELECT on `shop`.*")
	if _, err := f.svc.SyncReader(f.as(f.dba), f.dba, "orders-1"); errkind.Of(err) != errkind.Conflict {
		t.Errorf("sync over a DBA-set credential: %v", err)
	}
}
