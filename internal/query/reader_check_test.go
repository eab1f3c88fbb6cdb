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
	f := newFixture(t, Options{})
	f.inv.ExtraChecks = []inventory.ExtraCheck{f.svc}
	ctx := context.Background()
	check := func(instance string) inventory.CheckFinding {
		t.Helper()
		res, err := f.inv.Check(ctx, instance)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Checks) != 1 || res.Checks[0].Name != "reader" {
			t.Fatalf("checks of %s: %+v", instance, res.Checks)
		}
		return res.Checks[0]
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
	if res, err := f.inv.Check(ctx, "cache-1"); err != nil || len(res.Checks) != 0 {
		t.Errorf("redis: %+v %v", res.Checks, err)
	}
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "public.users"})
	expect("managed", check("orders-1"), ReaderOK, "managed account dbfleet_ro_orders-1@127.0.0.1", "SELECT on `shop`.*")
	servers.cluster.WaitSync(t)
	expect("on the replica", check("orders-2"), ReaderOK, "dbfleet_ro_orders-1@127.0.0.1")
	expect("pg managed", check("pg-1"), ReaderOK, "dbfleet_ro_pg-1", "SELECT on app/public")

	p := servers.cluster.Primary()
	p.Exec(t, "GRANT FILE, PROCESS ON *.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'", "GRANT INSERT ON shop.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'",
		"GRANT SELECT ON mysql.user TO 'dbfleet_ro_orders-1'@'127.0.0.1'")
	expect("too powerful", check("orders-1"), ReaderTooPowerful, "PROCESS, FILE on *.*", "INSERT on `shop`.*", "reads the system database mysql")
	pg := pgAdmin(t, "app")
	for _, st := range []string{"ALTER ROLE \"dbfleet_ro_pg-1\" SUPERUSER", "GRANT pg_read_all_data TO \"dbfleet_ro_pg-1\"", "GRANT INSERT ON users TO \"dbfleet_ro_pg-1\"",
		"GRANT SELECT ON pg_catalog.pg_statistic TO \"dbfleet_ro_pg-1\""} {
		if _, err := pg.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	expect("pg too powerful", check("pg-1"), ReaderTooPowerful, "SUPERUSER", "member of role pg_read_all_data", "INSERT on public.users in database app",
		"SELECT on pg_catalog.pg_statistic (a system catalog)")
	for _, n := range []string{"orders-1", "pg-1"} {
		if _, err := f.svc.SyncReader(f.as(f.dba), f.dba, n); err != nil {
			t.Fatal(err)
		}
	}
	expect("synchronised", check("orders-1"), ReaderOK)
	expect("pg synchronised", check("pg-1"), ReaderOK)
	shown, err := f.svc.ShowReader(f.as(f.dba), f.dba, "orders-2")
	if err != nil || shown.Instance != "orders-1" || shown.Check == nil || shown.Check.Status != ReaderOK {
		t.Errorf("show: %+v %v", shown, err)
	}

	// Dropped by hand: missing; synchronised: back, same password.
	p.Exec(t, "DROP USER 'dbfleet_ro_orders-1'@'127.0.0.1'")
	expect("dropped", check("orders-1"), ReaderMissing, "does not exist")
	f.svc.readerPass(ctx, true)
	expect("re-created", check("orders-1"), ReaderOK)

	// A DBA-set credential is judged the same way.
	c := servers.cluster.Nodes[0]
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: c.User, Password: c.Password}); err != nil {
		t.Fatal(err)
	}
	expect("DBA-set superuser", check("orders-1"), ReaderTooPowerful, "ALL PRIVILEGES on *.*", "GRANT OPTION", "DBA-set account "+c.User)
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: "reader", Password: "reader-pass"}); err != nil {
		t.Fatal(err)
	}
	expect("DBA-set reader", check("orders-1"), ReaderOK, "DBA-set account reader", "SELECT on `shop`.*")
	if _, err := f.svc.SyncReader(f.as(f.dba), f.dba, "orders-1"); errkind.Of(err) != errkind.Conflict {
		t.Errorf("sync over a DBA-set credential: %v", err)
	}
}
