package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// Console queries run as the reader: on the primary, on the replica (the
// primary's reader, by replication), on PostgreSQL, and a DBA's too; the
// inventory's account never serves a user's read.
func TestReaderConsole(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := f.as(f.dba)
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "crm.contacts"})
	// Console queries run as the reader, on the primary and the replica.
	for _, n := range []string{"orders-1", "orders-2"} {
		if _, err := f.inv.Check(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		primary bool
		ranOn   string
	}{{true, "orders-1"}, {false, "orders-2"}} {
		res, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "orders-1", Database: "shop", Statement: "SELECT CURRENT_USER() AS u, COUNT(*) AS n FROM users", Primary: tc.primary})
		if err != nil || res.RanOn != tc.ranOn || table(res) != "u,n|dbfleet_ro_orders-1@127.0.0.1,2" {
			t.Errorf("console on %s: %+v %v", tc.ranOn, res, err)
		}
	}
	// A DBA's query too, as the read-all reader: every non-system
	// database, with no grant naming it; never the inventory's account.
	res, err := f.svc.Run(ctx, f.dba, Request{Instance: "orders-1", Statement: "SELECT CURRENT_USER() AS u", Primary: true})
	if err != nil || table(res) != "u|dbfleet_ra_orders-1@127.0.0.1" {
		t.Errorf("dba console: %+v %v", res, err)
	}
	res, err = f.svc.Run(ctx, f.dba, Request{Instance: "orders-1", Statement: "SELECT k FROM secret.keys", Primary: true})
	if err != nil || table(res) != "k|top-secret" {
		t.Errorf("dba reads a database no grant names: %+v %v", res, err)
	}
	// A developer reading through grants never gets the read-all reader.
	if got := mysqlGrantsOf(t, servers(t).cluster.Primary(), "dbfleet_ro_orders-1", "127.0.0.1"); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("the grant reader after a DBA's read: %q", got)
	}
	res, err = f.svc.Run(ctx, f.dba, Request{Instance: "pg-1", Database: "app", Statement: "SELECT current_user AS u, count(*) AS n FROM users"})
	if err != nil || table(res) != "u,n|dbfleet_ra_pg-1,2" {
		t.Errorf("dba pg console: %v %v", res, err)
	}
	res, err = f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "pg-1", Database: "app", Statement: "SELECT current_user AS u, count(*) AS n FROM crm.contacts"})
	if err != nil || table(res) != "u,n|dbfleet_ro_pg-1,1" {
		t.Errorf("pg console: %v %v", res, err)
	}
	// The schema browser too: a DBA sees what the read-all reader may
	// read, never the system's databases.
	dbs, err := f.svc.Databases(ctx, f.dba, "orders-1")
	if all := strings.Join(dbs, ","); err != nil || !strings.Contains(all, "shop") || !strings.Contains(all, "secret") || strings.Contains(all, "mysql") ||
		strings.Contains(all, "performance_schema") {
		t.Errorf("dba databases: %v %v", dbs, err)
	}
}

// A database or schema created after the read-all reader was last
// synchronised is readable at a DBA's first query of it: the reader is
// brought in line then, not only by the loop's full pass.
func TestReadAllPicksUpNewDatabases(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := f.as(f.dba)
	run := func(instance, db, stmt string) (*Result, error) {
		return f.svc.Run(ctx, f.dba, Request{Instance: instance, Database: db, Statement: stmt, Primary: true})
	}
	if _, err := run("orders-1", "shop", "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("pg-1", "app", "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	m := servers(t).cluster.Primary()
	m.Exec(t, "CREATE DATABASE late_db", "CREATE TABLE late_db.t (a INT)", "INSERT INTO late_db.t VALUES (7)")
	t.Cleanup(func() { m.Exec(t, "DROP DATABASE late_db") })
	admin := pgAdmin(t, "app")
	for _, st := range []string{"CREATE SCHEMA late_s", "CREATE TABLE late_s.t (a int)", "INSERT INTO late_s.t VALUES (8)"} {
		if _, err := admin.Exec(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP SCHEMA late_s CASCADE") })
	for _, tc := range []struct{ instance, db, sql, want string }{
		{"orders-1", "", "SELECT a FROM late_db.t", "a|7"},            // named in the statement
		{"orders-1", "late_db", "SELECT COUNT(*) AS n FROM t", "n|1"}, // the session's database
		{"pg-1", "app", "SELECT a FROM late_s.t", "a|8"},              // a new schema
	} {
		res, err := run(tc.instance, tc.db, tc.sql)
		if err != nil || table(res) != tc.want {
			t.Errorf("%s: %s: %v %v", tc.instance, tc.sql, res, err)
		}
	}
	if e := lastAudit(t, f, "query.reader.sync"); e.Target != "pg-1" || e.Detail["kind"] != "all" {
		t.Errorf("audit: %+v", e)
	}
	// The grant reader was not given them.
	if got := strings.Join(mysqlGrantsOf(t, m, "dbfleet_ro_orders-1", "127.0.0.1"), "\n"); strings.Contains(got, "late_db") {
		t.Errorf("the grant reader: %s", got)
	}
}

// A rotation does not break queries: a session opened before it goes on,
// the next one logs in with the new password, and while a rotation is cut
// short (new password on the server, still pending in the store) queries
// log in with the pending one.
func TestReaderRotationKeepsQueries(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	ctx := context.Background()
	for _, tc := range []struct{ instance, db, who, want string }{
		{"orders-1", "shop", "SELECT CURRENT_USER() AS u", "u|dbfleet_ro_orders-1@127.0.0.1"},
		{"pg-1", "app", "SELECT current_user AS u", "u|dbfleet_ro_pg-1"},
	} {
		in, _ := f.inv.GetInstance(ctx, tc.instance)
		inflight, err := f.svc.open(ctx, readerGrants, in, in, tc.db, nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RotateReader(f.as(f.dba), f.dba, tc.instance); err != nil {
			t.Fatal(err)
		}
		if rows, _, err := inflight.Query(ctx, 1, tc.who); err != nil || "u|"+FormatValue(rows.Values[0][0]) != tc.want {
			t.Errorf("%s: the session opened before the rotation: %v %v", tc.instance, rows, err)
		}
		inflight.Close()
		if res, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: tc.instance, Database: tc.db, Statement: tc.who, Primary: true}); err != nil || table(res) != tc.want {
			t.Errorf("%s: console after rotation: %v %v", tc.instance, res, err)
		}
	}
	const pending = "Cut0Short0Rotation0Password0000000000000"
	sealed, _ := f.svc.box.Seal(pending)
	if _, err := f.db.ExecContext(ctx, "UPDATE query_readers SET next_password = ? WHERE instance = 'orders-1' AND kind = 'grants'", sealed); err != nil {
		t.Fatal(err)
	}
	servers(t).cluster.Primary().Exec(t, "ALTER USER 'dbfleet_ro_orders-1'@'127.0.0.1' IDENTIFIED BY '"+pending+"'")
	if res, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "orders-1", Database: "shop", Statement: "SELECT CURRENT_USER() AS u", Primary: true}); err != nil || table(res) != "u|dbfleet_ro_orders-1@127.0.0.1" {
		t.Errorf("query during a cut-short rotation: %v %v", res, err)
	}
}

// mysqlErrno is the server's error number in err (0: none).
func mysqlErrno(err error) int {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number)
	}
	return 0
}

// With the reader, in a session set up exactly like the console's, the
// MariaDB server itself refuses every payload of the security findings,
// run directly (not through the checks), and nothing changes.
func TestReaderServerRefusesMariaDB(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	for _, kind := range readerKinds {
		t.Run(string(kind), func(t *testing.T) { readerRefusesMariaDB(t, f, kind) })
	}
}

// readerRefusesMariaDB runs the payloads as the reader of kind.
func readerRefusesMariaDB(t *testing.T, f *fixture, kind readerKind) {
	ctx := context.Background()
	user := readerName(kind, "orders-1")
	in, _ := f.inv.GetInstance(ctx, "orders-1")
	conn, err := f.svc.open(ctx, kind, in, in, "shop", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := servers(t).cluster.Primary()
	root := m.DB(t, "")
	// Another connection's id, to try to kill it.
	other, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var otherID int64
	if err := other.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&otherID); err != nil {
		t.Fatal(err)
	}
	m.Exec(t, "FLUSH BINARY LOGS") // so that there is something to purge
	var extra []*sql.Conn          // so that FLUSH STATUS would lower Max_used_connections
	for range 8 {
		c, err := root.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, c)
	}
	for _, c := range extra {
		c.Close()
	}
	outfile := filepath.Join(t.TempDir(), "stolen.txt")
	scalar := func(q string) string {
		t.Helper()
		var v sql.NullString
		if err := root.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v.String
	}
	count := func(q string) string {
		t.Helper()
		rows, err := root.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return fmt.Sprint(n)
	}
	statusValue := func(name string) string {
		t.Helper()
		var n, v string
		if err := root.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	readerGrantsNow := func() string { return strings.Join(mysqlGrantsOf(t, m, user, "127.0.0.1"), "\n") }
	cases := []struct {
		name, sql string
		errno     int
		state     func() string // what must not change
	}{
		{"lift read-only to update", "SET STATEMENT tx_read_only=0 FOR UPDATE shop.users SET name = 'PWNED' WHERE id = 1", 1142,
			func() string { return scalar("SELECT name FROM shop.users WHERE id = 1") }},
		{"lift read-only to insert", "SET STATEMENT tx_read_only=0 FOR INSERT shop.orders VALUES (100, 1, '666')", 1142,
			func() string { return scalar("SELECT COUNT(*) FROM shop.orders") }},
		{"create a user", "SET STATEMENT tx_read_only=0 FOR CREATE USER 'sec_evil'@'%' IDENTIFIED BY 'evilpw'", 1227,
			func() string { return scalar("SELECT COUNT(*) FROM mysql.user WHERE User = 'sec_evil'") }},
		{"grant itself everything", "SET STATEMENT tx_read_only=0 FOR GRANT ALL ON *.* TO '" + user + "'@'127.0.0.1' WITH GRANT OPTION", 1045,
			readerGrantsNow},
		{"set a global", "SET GLOBAL max_connections = 7", 1227,
			func() string { return scalar("SELECT @@GLOBAL.max_connections") }},
		{"kill another session", fmt.Sprintf("KILL %d", otherID), 1095,
			func() string {
				var one int
				if err := other.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
					return "killed: " + err.Error()
				}
				return "alive"
			}},
		{"flush status", "FLUSH STATUS", 1227,
			func() string { return statusValue("Max_used_connections") }},
		{"purge binary logs", "PURGE BINARY LOGS BEFORE NOW()", 1227,
			func() string { return count("SHOW BINARY LOGS") }},
		{"analyze a table", "ANALYZE TABLE shop.users", 1142,
			func() string { return scalar("SELECT COUNT(*) FROM mysql.table_stats WHERE db_name = 'shop'") }},
		{"write a file", "SELECT * FROM shop.users INTO OUTFILE '" + outfile + "'", 1227,
			func() string {
				_, err := os.Stat(outfile)
				return fmt.Sprint(os.IsNotExist(err))
			}},
		{"read mysql.user", "SELECT User, authentication_string FROM mysql.user", 1142, nil},
		{"read mysql.global_priv", "SELECT User, Priv FROM mysql.global_priv", 1142, nil},
		{"read performance_schema", "SELECT SQL_TEXT FROM performance_schema.events_statements_history", 1142, nil},
	}
	if kind == readerGrants {
		cases = append(cases, struct {
			name, sql string
			errno     int
			state     func() string
		}{"read a database no grant names", "SELECT k FROM secret.keys", 1142, nil})
	}
	for _, tc := range cases {
		var before string
		if tc.state != nil {
			before = tc.state()
		}
		_, _, err := conn.Query(ctx, 0, tc.sql)
		if got := mysqlErrno(err); got != tc.errno {
			t.Errorf("%s: %q: error %d (%v), want the server's error %d", tc.name, tc.sql, got, err, tc.errno)
		}
		if tc.state != nil {
			if after := tc.state(); after != before {
				t.Errorf("%s: changed from %q to %q", tc.name, before, after)
			}
		}
	}
	// LOAD_FILE without FILE reads nothing (the inventory's account would).
	secretFile := filepath.Join(t.TempDir(), "host-secret.txt")
	if err := os.WriteFile(secretFile, []byte("host-secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := scalar("SELECT LOAD_FILE('" + secretFile + "')"); got != "host-secret" {
		t.Fatalf("the superuser cannot read %s either (%q): the next check would prove nothing", secretFile, got)
	}
	rows, _, err := conn.Query(ctx, 1, "SELECT LOAD_FILE('"+secretFile+"') AS f")
	if err != nil || len(rows.Values) != 1 || rows.Values[0][0] != nil {
		t.Errorf("LOAD_FILE as the reader: %+v %v, want NULL", rows, err)
	}
	// The session is still the console's: read-only, and the reader can read shop.
	rows, _, err = conn.Query(ctx, 1, "SELECT @@SESSION.tx_read_only, CURRENT_USER(), (SELECT COUNT(*) FROM shop.users)")
	if err != nil || fmt.Sprint(rows.Values[0]) != "[1 "+user+"@127.0.0.1 2]" {
		t.Errorf("session: %+v %v", rows, err)
	}
}

func pgSQLState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// With the reader, in a session set up exactly like the console's, the
// PostgreSQL server itself refuses every payload of the security
// findings, run directly, and nothing changes.
func TestReaderServerRefusesPostgres(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "public.users"})
	for _, kind := range readerKinds {
		t.Run(string(kind), func(t *testing.T) { readerRefusesPostgres(t, f, kind) })
	}
}

// readerRefusesPostgres runs the payloads as the reader of kind.
func readerRefusesPostgres(t *testing.T, f *fixture, kind readerKind) {
	ctx := context.Background()
	admin := pgAdmin(t, "app")
	for _, st := range []string{
		"CREATE TABLE IF NOT EXISTS brin_t (n int) WITH (autovacuum_enabled = off)",
		"CREATE INDEX IF NOT EXISTS brin_t_idx ON brin_t USING brin (n) WITH (pages_per_range = 1)",
		"INSERT INTO brin_t SELECT generate_series(1, 5000)",
		"SELECT 'marker-' || 'c0ffee-in-another-session'",
	} {
		if _, _, err := admin.Query(ctx, 0, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	adminPID := pgScalar(t, admin, "SELECT pg_backend_pid()")
	admin.Query(ctx, 0, "SELECT 'marker-' || 'c0ffee-in-another-session'") // the last statement pg_stat_activity shows
	in, _ := f.inv.GetInstance(ctx, "pg-1")
	conn, err := f.svc.open(ctx, kind, in, in, "app", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other := pgAdmin(t, "app") // a separate session for the "nothing changed" checks
	cases := []struct {
		name, sql string
		state     string // SQLSTATE
		unchanged string // as the superuser
	}{
		{"reset statistics", "SELECT pg_stat_reset()", "42501", "SELECT stats_reset::text FROM pg_stat_database WHERE datname = 'app'"},
		{"create a replication origin", "SELECT pg_replication_origin_create('dbfleet_evil')", "42501", "SELECT count(*) FROM pg_replication_origin"},
		{"summarize another owner's index", "SELECT brin_summarize_new_values('brin_t_idx'::regclass)", "42501", ""},
		{"read pg_authid", "SELECT rolname, rolpassword FROM pg_authid", "42501", ""},
		{"read pg_shadow", "SELECT usename, passwd FROM pg_shadow", "42501", ""},
		{"read the configuration files", "SELECT * FROM pg_show_all_file_settings()", "42501", ""},
		{"read pg_hba.conf", "SELECT * FROM pg_hba_file_rules()", "42501", ""},
		{"write", "INSERT INTO users (id, name) VALUES (99, 'x')", "25006", "SELECT count(*) FROM users"},
		{"read pg_statistic", "SELECT count(*) FROM pg_statistic", "42501", ""},
	}
	if kind == readerGrants {
		cases = append(cases, struct {
			name, sql string
			state     string
			unchanged string
		}{"read a schema no grant names", "SELECT * FROM crm.contacts", "42501", ""})
	}
	for _, tc := range cases {
		var before string
		if tc.unchanged != "" {
			before = pgScalar(t, other, tc.unchanged)
		}
		_, _, err := conn.Query(ctx, 0, tc.sql)
		if got := pgSQLState(err); got != tc.state {
			t.Errorf("%s: %q: SQLSTATE %q (%v), want %s", tc.name, tc.sql, got, err, tc.state)
		}
		if tc.unchanged != "" {
			if after := pgScalar(t, other, tc.unchanged); after != before {
				t.Errorf("%s: %s changed from %q to %q", tc.name, tc.unchanged, before, after)
			}
		}
	}
	// Nothing was summarized: the ranges are still there to summarize.
	if n := pgScalar(t, other, "SELECT brin_summarize_new_values('brin_t_idx'::regclass)"); n == "0" {
		t.Error("the reader summarized the BRIN index")
	}
	// Even with the read-only session lifted, the role cannot write.
	if _, err := conn.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO users (id, name) VALUES (99, 'x')")
	if got := pgSQLState(err); got != "42501" {
		t.Errorf("write without the read-only session: %q (%v), want 42501", got, err)
	}
	if n := pgScalar(t, other, "SELECT count(*) FROM users"); n != "2" {
		t.Errorf("users: %s rows", n)
	}
	// Another role's session shows no SQL.
	rows, _, err := conn.Query(ctx, 1, "SELECT coalesce(query, '') FROM pg_stat_activity WHERE pid = "+adminPID)
	if err != nil || len(rows.Values) != 1 || FormatValue(rows.Values[0][0]) != "<insufficient privilege>" {
		t.Errorf("pg_stat_activity of another role: %+v %v", rows, err)
	}
	if _, err := other.Exec(ctx, "DROP TABLE brin_t"); err != nil {
		t.Error(err)
	}
}

// When no reader can be created (the inventory's account may not create
// accounts), the read is refused with how to fix it; it never runs as the
// inventory's account.
func TestReaderUnavailableRefuses(t *testing.T) {
	f := newFixture(t, Config{})
	m := servers(t).single
	m.Exec(t, "CREATE DATABASE IF NOT EXISTS weakdb", "CREATE USER IF NOT EXISTS 'weak'@'%' IDENTIFIED BY 'weak-pass-123'", "GRANT SELECT ON weakdb.* TO 'weak'@'%'")
	if _, err := f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "weak-1", Engine: engine.MariaDB, Host: "h1", Port: m.Port, User: "weak", Password: "weak-pass-123"}); err != nil {
		t.Fatal(err)
	}
	g := f.grant(t, NewGrant{User: "dev", Instance: "weak-1", Database: "weakdb"})
	if !strings.Contains(g.Note, "the grant is stored, but the reader account of weak-1 was not updated") {
		t.Errorf("grant note: %q", g.Note)
	}
	_, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "weak-1", Database: "weakdb", Statement: "SELECT CURRENT_USER()"})
	if errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), "never reads with the inventory's account") ||
		!strings.Contains(err.Error(), "dbfleet query reader sync weak-1") || strings.Contains(err.Error(), "weak-pass-123") {
		t.Errorf("query without a reader: %v", err)
	}
	if e := lastAudit(t, f, "query.failed"); e.Target != "weak-1" {
		t.Errorf("audit: %+v", e)
	}
	_, err = f.svc.SyncReader(f.as(f.dba), f.dba, "weak-1")
	if errkind.Of(err) != errkind.Upstream || !strings.Contains(err.Error(), "Access denied for user 'weak'") {
		t.Errorf("sync: %v", err)
	}
}

// The console's checks and the readers agree on the servers' catalogs.
// MariaDB: no reader reads mysql (accounts, password hashes),
// performance_schema or sys, so a grant naming them is refused when it is
// made, and a statement reading them is refused to every caller (a grant
// stored before is no way in either); information_schema is readable by
// every account, showing only what the reader may read, so a grant naming
// it works. PostgreSQL: a grant naming a catalog relation reads it as
// PUBLIC may: pg_stat_activity yes, pg_authid no (the server refuses).
func TestReaderSystemCatalogs(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	for _, g := range []NewGrant{
		{User: "dev", Instance: "orders-1", Database: "mysql"},
		{User: "dev", Instance: "orders-1", Database: "mysql", Table: "user"},
		{User: "dev", Instance: "orders-1", Database: "MySQL", Table: "global_priv"},
		{Role: "developer", Instance: "orders-1", Database: "performance_schema"},
		{User: "dev", Instance: "orders-2", Database: "sys"},
	} {
		_, err := f.svc.AddGrant(f.as(f.dba), f.dba, g)
		if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "reader accounts never read") {
			t.Errorf("grant %+v: %v", g, err)
		}
	}
	// information_schema: granted by name, it shows what the grant
	// reader may read (here: shop), never secret nor mysql.
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "information_schema"})
	res := f.mustRun(t, f.dev, "orders-1", "", "SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY 1) AS s FROM information_schema.SCHEMATA")
	if got := table(res); got != "s|information_schema,shop" {
		t.Errorf("dev's information_schema: %s", got)
	}
	res = f.mustRun(t, f.dba, "orders-1", "", "SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY 1) AS s FROM information_schema.SCHEMATA")
	if got := table(res); !strings.Contains(got, "secret") || !strings.Contains(got, "shop") || strings.Contains(got, "mysql") || strings.Contains(got, "performance_schema") {
		t.Errorf("dba's information_schema: %s", got)
	}
	// A grant naming mysql stored before grants on it were refused.
	if _, err := f.db.ExecContext(context.Background(), `INSERT INTO query_grants (subject_kind, subject, instance, db, tbl, reason, granted_by, created_at)
		VALUES ('user', 'dev', 'orders-1', 'mysql', '', '', 'dba', 0)`); err != nil {
		t.Fatal(err)
	}
	f.svc.readerPass(context.Background(), true)
	if got := mysqlGrantsOf(t, servers(t).cluster.Primary(), "dbfleet_ro_orders-1", "127.0.0.1"); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("the grant reader with a stored grant on mysql: %q", got)
	}
	checkRefused(t, f, []refusedCase{
		{"dba mysql.user", "orders-1", "", asDBA, "SELECT User, authentication_string FROM mysql.user", RuleSystemDatabase, "the reader accounts never read the server's accounts"},
		{"dba mysql.global_priv", "orders-1", "", asDBA, "SELECT * FROM MYSQL.global_priv", RuleSystemDatabase, "mysql"},
		{"dba performance_schema", "orders-1", "", asDBA, "SELECT SQL_TEXT FROM performance_schema.events_statements_history", RuleSystemDatabase, "performance_schema"},
		{"dba sys", "orders-1", "", asDBA, "SELECT * FROM sys.version", RuleSystemDatabase, "sys"},
		{"dba show tables of mysql", "orders-1", "", asDBA, "SHOW TABLES FROM mysql", RuleSystemDatabase, "database mysql"},
		{"dba session in mysql", "orders-1", "mysql", asDBA, "SELECT * FROM user", RuleSystemDatabase, "mysql"},
		{"dev with a stored grant", "orders-1", "", asDev, "SELECT User FROM mysql.user", RuleSystemDatabase, "mysql"},
	})
	// Nor does the schema browser list them, for anyone.
	for _, p := range []func(*fixture) auth.Principal{asDev, asDBA} {
		dbs, err := f.svc.Databases(f.as(p(f)), p(f), "orders-1")
		if all := strings.Join(dbs, ","); err != nil || strings.Contains(all, "mysql") || !strings.Contains(all, "information_schema") {
			t.Errorf("%s's databases: %v %v", p(f).User, dbs, err)
		}
	}

	// PostgreSQL catalogs: what PUBLIC may read.
	f.grant(t, NewGrant{User: "ops", Instance: "pg-1", Database: "app", Table: "pg_catalog.pg_stat_activity"})
	f.grant(t, NewGrant{User: "ops", Instance: "pg-1", Database: "app", Table: "pg_catalog.pg_authid"})
	if res := f.mustRun(t, f.ops, "pg-1", "app", "SELECT count(*) AS n FROM pg_stat_activity"); len(res.Rows) != 1 {
		t.Errorf("pg_stat_activity: %s", table(res))
	}
	_, err := f.run(t, f.ops, "pg-1", "app", "SELECT rolname, rolpassword FROM pg_authid")
	if err == nil || httpx.Status(err) != 400 || !strings.Contains(err.Error(), "permission denied for table pg_authid") {
		t.Errorf("pg_authid through a grant naming it: %v", err)
	}
}

// A reader the server refuses (dropped by hand, its password changed by
// hand) is brought in line at the next login, once, and the read goes
// on as the reader.
func TestReaderRepairedAtLogin(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	m := servers(t).cluster.Primary()
	pg := pgAdmin(t, "app")
	for _, tc := range []struct {
		name, instance, db, who string
		breakIt                 func()
	}{
		{"dropped", "orders-1", "shop", "dbfleet_ro_orders-1@127.0.0.1", func() { m.Exec(t, "DROP USER 'dbfleet_ro_orders-1'@'127.0.0.1'") }},
		{"password changed", "orders-1", "shop", "dbfleet_ro_orders-1@127.0.0.1", func() {
			m.Exec(t, "ALTER USER 'dbfleet_ro_orders-1'@'127.0.0.1' IDENTIFIED BY 'Changed0By0Hand'")
		}},
		{"pg password changed", "pg-1", "app", "dbfleet_ro_pg-1", func() {
			if _, err := pg.Exec(context.Background(), `ALTER ROLE "dbfleet_ro_pg-1" PASSWORD 'Changed0By0Hand'`); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		tc.breakIt()
		res, err := f.run(t, f.dev, tc.instance, tc.db, "SELECT CURRENT_USER AS u")
		if err != nil || table(res) != "u|"+tc.who {
			t.Errorf("%s: %v %v", tc.name, res, err)
			continue
		}
		if e := lastAudit(t, f, "query.reader.sync"); e.Target != tc.instance {
			t.Errorf("%s: audit %+v", tc.name, e)
		}
	}
	if got := mysqlGrantsOf(t, m, "dbfleet_ro_orders-1", "127.0.0.1"); !slices.Equal(got, wantReaderGrants("shop")) {
		t.Errorf("re-created reader: %q", got)
	}
}
