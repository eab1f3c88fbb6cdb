package query

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// readerRow is the stored grant reader of home; kindRow of any kind.
func (f *fixture) readerRow(t testing.TB, home string) credRow {
	t.Helper()
	return f.kindRow(t, home, readerGrants)
}

func (f *fixture) kindRow(t testing.TB, home string, kind readerKind) credRow {
	t.Helper()
	r, ok, err := f.svc.readerRowFor(context.Background(), f.db, home, kind)
	if err != nil || !ok || !r.managed {
		t.Fatalf("%s reader of %s: %+v %v %v", kind, home, r, ok, err)
	}
	return r
}

func (f *fixture) readerPassword(t testing.TB, home string) string {
	t.Helper()
	return f.kindPassword(t, home, readerGrants)
}

func (f *fixture) kindPassword(t testing.TB, home string, kind readerKind) string {
	t.Helper()
	pw, err := f.svc.box.Open(f.kindRow(t, home, kind).password)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

var identifiedBy = regexp.MustCompile(` IDENTIFIED BY PASSWORD '[^']*'`)

// mysqlGrantsOf is SHOW GRANTS FOR user@host on m as its superuser, in
// order, with the password hash cut out and the account written R.
func mysqlGrantsOf(t testing.TB, m *testenv.MariaDB, user, host string) []string {
	t.Helper()
	rows, err := m.DB(t, "").Query(fmt.Sprintf("SHOW GRANTS FOR '%s'@'%s'", user, host))
	if err != nil {
		var me *gomysql.MySQLError
		if errors.As(err, &me) && me.Number == 1141 {
			return nil
		}
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	acct := fmt.Sprintf("`%s`@`%s`", user, host)
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.ReplaceAll(identifiedBy.ReplaceAllString(l, ""), acct, "R"))
	}
	slices.Sort(out)
	return out
}

func wantReaderGrants(dbs ...string) []string {
	out := []string{"GRANT USAGE ON *.* TO R WITH MAX_USER_CONNECTIONS 32"}
	for _, d := range dbs {
		out = append(out, "GRANT SELECT, SHOW VIEW ON `"+d+"`.* TO R")
	}
	slices.Sort(out)
	return out
}

// login tries the account on an instance's server.
func tryLogin(t testing.TB, port int, k engine.Kind, user, password, db string) error {
	t.Helper()
	c, err := engines().Open(context.Background(), engine.Target{Engine: k, Host: "127.0.0.1", Port: port, User: user, Password: password, Database: db})
	if err == nil {
		c.Close()
	}
	return err
}

// The reader of a replicated MariaDB cluster lives on its primary, has
// SELECT and SHOW VIEW on exactly the databases the grants name (on any
// member), follows grants as they are added, revoked and expire, loses
// what is added by hand, and reaches the replica by replication.
func TestReaderMariaDB(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := f.as(f.dba)
	primary, replica := servers(t).cluster.Nodes[0], servers(t).cluster.Nodes[1]
	// An account left by a previous store is taken over, with what it had.
	primary.Exec(t, "CREATE USER IF NOT EXISTS 'dbfleet_ro_orders-1'@'127.0.0.1' IDENTIFIED BY 'left-over'", "GRANT SELECT ON secret.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'")

	g1 := f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users"})
	if g1.Note != "" {
		t.Errorf("grant note: %s", g1.Note)
	}
	r := f.readerRow(t, "orders-1")
	if r.user != "dbfleet_ro_orders-1" || r.host != "127.0.0.1" {
		t.Fatalf("reader %s@%s", r.user, r.host)
	}
	pw := f.readerPassword(t, "orders-1")
	if len(pw) < 32 || !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(pw) {
		t.Errorf("password %q: want >= 32 letters and digits", pw)
	}
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("after the shop grant:\n got %q\nwant %q", got, wantReaderGrants("shop"))
	}
	if err := tryLogin(t, primary.Port, engine.MariaDB, r.user, "left-over", ""); errkind.Of(err) != errkind.Unauthorized {
		t.Errorf("the left-over password still logs in: %v", err)
	}
	// A grant on the replica instance is the primary's reader's too.
	g2 := f.grant(t, NewGrant{Role: "developer", Instance: "orders-2", Database: "crm"})
	want := wantReaderGrants("crm", "shop")
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, want) {
		t.Errorf("after the crm grant:\n got %q\nwant %q", got, want)
	}
	servers(t).cluster.WaitSync(t)
	if got := mysqlGrantsOf(t, replica, r.user, r.host); !slices.Equal(got, want) {
		t.Errorf("on the replica:\n got %q\nwant %q", got, want)
	}
	if err := tryLogin(t, replica.Port, engine.MariaDB, r.user, pw, "shop"); err != nil {
		t.Errorf("the reader cannot log in on the replica: %v", err)
	}

	// Revoked: gone. Instance-wide: every non-system database.
	if err := f.svc.RevokeGrant(ctx, f.dba, g2.ID); err != nil {
		t.Fatal(err)
	}
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("after revoking crm:\n got %q", got)
	}
	g3 := f.grant(t, NewGrant{User: "ops", Instance: "orders-1"})
	got := strings.Join(mysqlGrantsOf(t, primary, r.user, r.host), "\n")
	for _, db := range []string{"shop", "crm", "secret"} {
		if !strings.Contains(got, "GRANT SELECT, SHOW VIEW ON `"+db+"`.* TO R") {
			t.Errorf("instance-wide grant: no %s in\n%s", db, got)
		}
	}
	for _, sys := range []string{"mysql", "sys", "performance_schema", "information_schema"} {
		if strings.Contains(got, "`"+sys+"`") {
			t.Errorf("instance-wide grant reaches %s:\n%s", sys, got)
		}
	}
	if err := f.svc.RevokeGrant(ctx, f.dba, g3.ID); err != nil {
		t.Fatal(err)
	}

	// A grant that expires is taken back by the loop once it has.
	g4 := f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "crm", Expires: "1h"})
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, wantReaderGrants("crm", "shop")) {
		t.Errorf("before expiry:\n got %q", got)
	}
	real := f.svc.now
	f.svc.now = func() time.Time { return real().Add(2 * time.Hour) }
	f.svc.readerPass(context.Background(), false)
	f.svc.now = real
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("after expiry:\n got %q", got)
	}
	if err := f.svc.RevokeGrant(ctx, f.dba, g4.ID); err != nil { // it has not expired in real time
		t.Fatal(err)
	}

	// What a DBA adds by hand is taken back by the full pass.
	primary.Exec(t, "GRANT INSERT ON shop.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'", "GRANT FILE ON *.* TO 'dbfleet_ro_orders-1'@'127.0.0.1'",
		"GRANT UPDATE (name) ON shop.users TO 'dbfleet_ro_orders-1'@'127.0.0.1'", "CREATE ROLE IF NOT EXISTS dbfleet_test_role",
		"GRANT dbfleet_test_role TO 'dbfleet_ro_orders-1'@'127.0.0.1'")
	f.svc.readerPass(context.Background(), true)
	if got := mysqlGrantsOf(t, primary, r.user, r.host); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("after the full pass:\n got %q", got)
	}
	e := lastAudit(t, f, "query.reader.sync")
	if e.Target != "orders-1" || !strings.Contains(fmt.Sprint(e.Detail["changes"]), "revoked FILE on *.*") {
		t.Errorf("audit: %+v", e)
	}

	list, err := f.svc.ListReaders(ctx, f.dba)
	if err != nil || len(list) != 1 {
		t.Fatalf("readers: %+v %v", list, err)
	}
	if l := list[0]; l.Instance != "orders-1" || strings.Join(l.UsedBy, ",") != "orders-1,orders-2" || strings.Join(l.Scope, ",") != "shop" || l.SyncError != "" {
		t.Errorf("reader list: %+v", l)
	}
	if _, err := f.svc.ListReaders(f.as(f.dev), f.dev); errkind.Of(err) != errkind.Forbidden {
		t.Errorf("dev lists readers: %v", err)
	}
}

// Rotation sets a new password when it is due or asked for: the old one
// is refused, the new one works (on the replica too); a rotation cut short
// (new password on the server, not yet current in the store) is completed
// by the loop.
func TestReaderRotation(t *testing.T) {
	f := newFixture(t, Config{ReaderRotateEvery: 24 * time.Hour})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	f.grant(t, NewGrant{User: "dev", Instance: "cache-1"})
	ctx := context.Background()
	for i, tc := range []struct {
		instance string
		port     int
		k        engine.Kind
		db       string
	}{
		{"orders-1", servers(t).cluster.Nodes[0].Port, engine.MariaDB, "shop"},
		{"pg-1", servers(t).pg.Port, engine.Postgres, "app"},
		{"cache-1", servers(t).rd.Port, engine.Redis, "0"},
	} {
		old := f.readerPassword(t, tc.instance)
		user := f.readerRow(t, tc.instance).user
		before := f.readerRow(t, tc.instance).rotated
		// Not due: the loop leaves it; due: it rotates.
		f.svc.readerPass(ctx, false)
		if f.readerPassword(t, tc.instance) != old {
			t.Fatalf("%s: rotated before it was due", tc.instance)
		}
		real := f.svc.now
		f.svc.now = func() time.Time { return real().Add(time.Duration(i+1) * 50 * time.Hour) } // the loop rotates every reader due
		f.svc.readerPass(ctx, false)
		f.svc.now = real
		nw := f.readerPassword(t, tc.instance)
		if nw == old || f.readerRow(t, tc.instance).rotated <= before {
			t.Fatalf("%s: not rotated", tc.instance)
		}
		if err := tryLogin(t, tc.port, tc.k, user, old, tc.db); errkind.Of(err) != errkind.Unauthorized {
			t.Errorf("%s: the old password: %v", tc.instance, err)
		}
		if err := tryLogin(t, tc.port, tc.k, user, nw, tc.db); err != nil {
			t.Errorf("%s: the new password: %v", tc.instance, err)
		}
		// By hand.
		if _, err := f.svc.RotateReader(f.as(f.dba), f.dba, tc.instance); err != nil {
			t.Fatal(err)
		}
		if e := lastAudit(t, f, "query.reader.rotate"); e.Target != tc.instance || e.User != "dba" || strings.Contains(fmt.Sprint(e.Detail), f.readerPassword(t, tc.instance)) {
			t.Errorf("%s: audit %+v", tc.instance, e)
		}
		if err := tryLogin(t, tc.port, tc.k, user, nw, tc.db); errkind.Of(err) != errkind.Unauthorized {
			t.Errorf("%s: the password before the manual rotation: %v", tc.instance, err)
		}
		if err := tryLogin(t, tc.port, tc.k, user, f.readerPassword(t, tc.instance), tc.db); err != nil {
			t.Errorf("%s: the password of the manual rotation: %v", tc.instance, err)
		}
	}
	servers(t).cluster.WaitSync(t)
	if err := tryLogin(t, servers(t).cluster.Nodes[1].Port, engine.MariaDB, "dbfleet_ro_orders-1", f.readerPassword(t, "orders-1"), "shop"); err != nil {
		t.Errorf("the replica after rotation: %v", err)
	}

	// A rotation cut short: the new password was stored as pending (and
	// perhaps set on the server), then dbfleet stopped.
	sealed, _ := f.svc.box.Seal("Cut0Short0Rotation0Password0000000000000")
	if _, err := f.db.ExecContext(ctx, "UPDATE query_readers SET next_password = ? WHERE instance = 'orders-1' AND kind = 'grants'", sealed); err != nil {
		t.Fatal(err)
	}
	f.svc.readerPass(ctx, false) // completes it
	if r := f.readerRow(t, "orders-1"); r.next != "" || f.readerPassword(t, "orders-1") != "Cut0Short0Rotation0Password0000000000000" {
		t.Errorf("the cut-short rotation was not completed: next=%q", r.next)
	}
	if err := tryLogin(t, servers(t).cluster.Nodes[0].Port, engine.MariaDB, "dbfleet_ro_orders-1", "Cut0Short0Rotation0Password0000000000000", "shop"); err != nil {
		t.Errorf("after completing the rotation: %v", err)
	}
}

// pgAdmin is the PostgreSQL superuser on database db.
func pgAdmin(t testing.TB, db string) engine.Conn {
	t.Helper()
	c, err := postgres.New().Open(context.Background(), engine.Target{Engine: engine.Postgres, Host: servers(t).pg.Host, Port: servers(t).pg.Port,
		User: servers(t).pg.User, Password: servers(t).pg.Password, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func pgScalar(t testing.TB, c engine.Conn, q string, args ...any) string {
	t.Helper()
	rows, _, err := c.Query(context.Background(), 1, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(rows.Values) == 0 {
		return ""
	}
	return FormatValue(rows.Values[0][0])
}

// The PostgreSQL reader is a plain LOGIN role with CONNECT, USAGE and
// SELECT on the granted schemas only, and follows the grants.
func TestReaderPostgres(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := f.as(f.dba)
	admin := pgAdmin(t, "app")
	g := f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "crm.contacts"})
	r := f.readerRow(t, "pg-1")
	if r.user != "dbfleet_ro_pg-1" || r.host != "" {
		t.Fatalf("reader %q %q", r.user, r.host)
	}
	priv := func(q string) string { return pgScalar(t, admin, q, r.user) }
	attrs := priv(`SELECT concat_ws(',', rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit, rolcanlogin, rolconnlimit)
		FROM pg_roles WHERE rolname = $1`)
	if attrs != "f,f,f,f,f,f,t,32" {
		t.Errorf("role attributes %s", attrs)
	}
	for _, tc := range []struct{ q, want string }{
		{"SELECT has_database_privilege($1, 'app', 'CONNECT')", "true"},
		{"SELECT has_schema_privilege($1, 'crm', 'USAGE')", "true"},
		{"SELECT has_table_privilege($1, 'crm.contacts', 'SELECT')", "true"},
		{"SELECT has_table_privilege($1, 'crm.contacts', 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')", "false"},
		{"SELECT has_schema_privilege($1, 'public', 'CREATE')", "false"},
		{"SELECT has_table_privilege($1, 'public.users', 'SELECT')", "false"},
		{"SELECT has_schema_privilege($1, 'crm', 'CREATE')", "false"},
		{"SELECT count(*) FROM pg_auth_members WHERE member = to_regrole($1)", "0"},
		{"SELECT count(*) FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a WHERE a.grantee = to_regrole($1) AND n.nspname = 'crm' AND a.privilege_type = 'SELECT'", "1"},
	} {
		if got := priv(tc.q); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	// A table the inventory's account creates later is readable at once.
	if _, err := admin.Exec(context.Background(), "CREATE TABLE crm.later (id int)"); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), "DROP TABLE crm.later")
	if got := priv("SELECT has_table_privilege($1, 'crm.later', 'SELECT')"); got != "true" {
		t.Errorf("default privileges: crm.later %s", got)
	}
	// A database-wide grant: every non-system schema; revoked: nothing.
	g2 := f.grant(t, NewGrant{Role: "developer", Instance: "pg-1", Database: "app"})
	if got := priv("SELECT has_table_privilege($1, 'public.users', 'SELECT')"); got != "true" {
		t.Errorf("database-wide grant: public.users %s", got)
	}
	if got := priv("SELECT has_schema_privilege($1, 'pg_catalog', 'CREATE') OR EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname IN ('pg_catalog', 'information_schema') AND a.grantee = to_regrole($1))"); got != "false" {
		t.Errorf("system schemas granted: %s", got)
	}
	for _, id := range []int64{g.ID, g2.ID} {
		if err := f.svc.RevokeGrant(ctx, f.dba, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"SELECT has_table_privilege($1, 'crm.contacts', 'SELECT')",
		"SELECT has_table_privilege($1, 'public.users', 'SELECT')",
		"SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = to_regrole($1))",
		"SELECT EXISTS (SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = to_regrole($1))",
	} {
		if got := priv(q); got != "false" {
			t.Errorf("after revoking: %s = %s", q, got)
		}
	}
}

// A reader created on a primary that stops being one (a failover in the
// inventory) is dropped through the new primary; the new one gets its own.
func TestReaderFollowsThePrimary(t *testing.T) {
	f := newFixture(t, Config{})
	m := servers(t).single
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Two inventory entries for one server stand in for two nodes: the
	// account DDL of either lands on the same server, as replication would.
	must(f.inv.AddHost(f.ctx, inventory.Host{Name: "h2", Address: "127.0.0.1"}))
	must(f.inv.AddCluster(f.ctx, inventory.Cluster{Name: "solo", Engine: engine.MariaDB}))
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "solo-a", Engine: engine.MariaDB, Host: "h1", Port: m.Port, User: m.User, Password: m.Password, Cluster: "solo", Role: inventory.RolePrimary}))
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "solo-b", Engine: engine.MariaDB, Host: "h2", Port: m.Port, User: m.User, Password: m.Password, Cluster: "solo", Role: inventory.RoleReplica}))
	m.Exec(t, "CREATE DATABASE IF NOT EXISTS solodb")
	f.grant(t, NewGrant{User: "dev", Instance: "solo-b", Database: "solodb"})
	if got := mysqlGrantsOf(t, m, "dbfleet_ro_solo-a", "127.0.0.1"); !slices.Equal(got, wantReaderGrants("solodb")) {
		t.Fatalf("reader of solo-a: %q", got)
	}
	role := func(name, r string) {
		t.Helper()
		must(f.inv.UpdateInstance(f.ctx, name, inventory.InstancePatch{Role: &r}))
	}
	role("solo-a", inventory.RoleReplica)
	role("solo-b", inventory.RolePrimary)
	f.svc.readerPass(context.Background(), true)
	if got := mysqlGrantsOf(t, m, "dbfleet_ro_solo-a", "127.0.0.1"); got != nil {
		t.Errorf("the former primary's reader is still there: %q", got)
	}
	if _, ok, _ := f.svc.credFor(context.Background(), f.db, "solo-a"); ok {
		t.Error("the former primary's reader is still stored")
	}
	if e := lastAudit(t, f, "query.reader.retire"); e.Target != "solo-a" || e.Detail["via"] != "solo-b" {
		t.Errorf("audit: %+v", e)
	}
	if got := mysqlGrantsOf(t, m, "dbfleet_ro_solo-b", "127.0.0.1"); !slices.Equal(got, wantReaderGrants("solodb")) {
		t.Errorf("reader of the new primary: %q", got)
	}
	// A replica whose cluster declares no primary gets no reader.
	none := ""
	must(f.inv.UpdateInstance(f.ctx, "solo-b", inventory.InstancePatch{Role: &none}))
	in, _ := f.inv.GetInstance(context.Background(), "solo-a")
	if _, err := f.svc.readerHome(context.Background(), in); errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), "declares no primary") {
		t.Errorf("home of a replica without primary: %v", err)
	}
	m.Exec(t, "DROP USER IF EXISTS 'dbfleet_ro_solo-b'@'127.0.0.1'")
}
