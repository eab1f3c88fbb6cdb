package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/migrations"
)

// wantRule checks the refusal's rule (matched with errors.As).
func wantRule(t *testing.T, what string, err error, rule string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Errorf("%s: %v is not a refusal (want rule %s)", what, err, rule)
		return
	}
	if r.Rule != rule {
		t.Errorf("%s: rule %s, want %s (%v)", what, r.Rule, rule, err)
	}
}

func wantRefused(t *testing.T, what string, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: ran, want refused (%s)", what, contains)
		return
	}
	if k := errkind.Of(err); k != errkind.Forbidden && k != errkind.Invalid {
		t.Errorf("%s: err kind %v (%v), want a refusal", what, k, err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("%s: err = %v, want it to mention %q", what, err, contains)
	}
}

// The session itself is read-only: even a write that slipped past the
// checks fails on the server, and the statement timeout is set. The
// managed reader could not write anyway (TestReaderServerRefuses), so
// this runs with DBA-set credentials that could: the session alone holds.
func TestSessionIsReadOnly(t *testing.T) {
	f := newFixture(t, Config{StatementTimeout: 3 * time.Second})
	ctx := context.Background()
	c := servers(t).cluster.Nodes[0]
	for _, cr := range []struct{ instance, user, password string }{{"orders-1", c.User, c.Password}, {"pg-1", servers(t).pg.User, servers(t).pg.Password}} {
		if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, cr.instance, NewCredential{User: cr.user, Password: cr.password}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		instance, db string
		writes       []string
		timeout      string
	}{
		{"orders-1", "shop", []string{"INSERT INTO users (id, name) VALUES (99, 'x')", "DELETE FROM users", "CREATE TABLE t99 (a INT)", "UPDATE users SET name = 'x'"}, "SELECT @@SESSION.max_statement_time"},
		{"pg-1", "app", []string{"INSERT INTO users (id, name) VALUES (99, 'x')", "DELETE FROM users", "CREATE TABLE t99 (a int)", "UPDATE users SET name = 'x'"}, "SHOW statement_timeout"},
	} {
		in, err := f.inv.GetInstance(ctx, tc.instance)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := f.svc.open(ctx, readerAll, in, in, tc.db, nil, 3*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tc.instance, err)
		}
		for _, w := range tc.writes {
			_, err := conn.Exec(ctx, w)
			if err == nil {
				t.Errorf("%s: %q succeeded on the query session", tc.instance, w)
				continue
			}
			if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "read only") && !strings.Contains(msg, "read-only") {
				t.Errorf("%s: %q failed, but not for being read-only: %v", tc.instance, w, err)
			}
		}
		rows, _, err := conn.Query(ctx, 1, tc.timeout)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatValue(rows.Values[0][0]); got != "3" && got != "3s" && got != "3.000000" {
			t.Errorf("%s: timeout %q", tc.instance, got)
		}
		conn.Close()
	}
	// Nothing was written.
	res := f.mustRun(t, f.dba, "orders-1", "shop", "SELECT COUNT(*) FROM users")
	if table(res) != "COUNT(*)|2" {
		t.Errorf("users: %s", table(res))
	}
}

// Forbidden forms are refused on live servers too, audited, and change
// nothing.
func TestRefusedLive(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{Role: "dba", Instance: "orders-1", Database: "shop"}) // what the reader may read, to check nothing changed
	f.grant(t, NewGrant{Role: "dba", Instance: "pg-1", Database: "app"})
	for _, tc := range []struct{ instance, db, sql, want, rule string }{
		{"orders-1", "shop", "DELETE FROM users", "DELETE statements are not allowed", RuleStatement},
		{"orders-1", "shop", "SELECT 1; DELETE FROM users", "exactly one statement", RuleMultiStatement},
		{"orders-1", "shop", "SELECT * FROM users INTO OUTFILE '/tmp/dbfleet-x'", "INTO is not allowed", RuleInto},
		{"orders-1", "shop", "SELECT * FROM users FOR UPDATE", "locks rows", RuleLockingRead},
		{"orders-1", "shop", "SELECT SLEEP(3)", "SLEEP() is not on the console's allow-list", RuleFunction},
		{"orders-1", "shop", "SELECT GET_LOCK('x', 1)", "GET_LOCK() is not on the console's allow-list", RuleFunction},
		{"orders-1", "shop", "SELECT 1 /*M!100000 , (SELECT k FROM secret.keys) */", "special comments (/*M!", RuleSpecialComment},
		{"orders-1", "shop", "/*!50000 DELETE FROM users */", "special comments (/*!", RuleSpecialComment},
		{"pg-1", "app", "WITH x AS (DELETE FROM users RETURNING *) SELECT * FROM x", "data-modifying WITH", RuleDataModifyingWith},
		{"pg-1", "app", "SELECT pg_sleep(3)", "pg_sleep() is not on the console's allow-list", RuleFunction},
		{"pg-1", "app", "SELECT set_config('default_transaction_read_only', 'off', false)", "set_config() is not on the console's allow-list", RuleFunction},
		{"pg-1", "app", "SELECT 1; DELETE FROM users", "exactly one statement", RuleMultiStatement},
		{"pg-1", "app", "SELECT * INTO stolen FROM users", "INTO is not allowed", RuleInto},
	} {
		start := time.Now()
		_, err := f.run(t, f.dba, tc.instance, tc.db, tc.sql)
		wantRefused(t, tc.sql, err, tc.want)
		wantRule(t, tc.sql, err, tc.rule)
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %s", tc.sql, time.Since(start))
		}
		e := lastAudit(t, f, "query.refused")
		if e.User != "dba" || e.Target != tc.instance || e.Detail["statement"] != tc.sql || !strings.Contains(fmt.Sprint(e.Detail["refused"]), tc.want) || e.Detail["rule"] != tc.rule {
			t.Errorf("%s: audit %+v", tc.sql, e)
		}
	}
	for _, tc := range []struct{ instance, db string }{{"orders-1", "shop"}, {"pg-1", "app"}} {
		if got := table(f.mustRun(t, f.dba, tc.instance, tc.db, "SELECT COUNT(*) AS n FROM users")); got != "n|2" {
			t.Errorf("%s users: %s", tc.instance, got)
		}
	}
}

func TestGrants(t *testing.T) {
	f := newFixture(t, Config{})
	_, err := f.run(t, f.dev, "orders-1", "shop", "SELECT 1")
	wantRefused(t, "no grant", err, `user dev (role developer) has no query grant on instance orders-1`)
	_, err = f.run(t, f.viewer, "orders-1", "shop", "SELECT 1")
	wantRefused(t, "viewer", err, "lacks permission query.run")

	// A table grant: that table only, wherever it appears.
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users", Reason: "ticket 42"})
	f.mustRun(t, f.dev, "orders-1", "shop", "SELECT id, name FROM users")
	f.mustRun(t, f.dev, "orders-1", "", "SELECT id FROM shop.users")
	f.mustRun(t, f.dev, "orders-1", "shop", "SELECT 1")
	for _, sql := range []string{
		"SELECT * FROM orders",
		"SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id",
		"SELECT id FROM users WHERE id IN (SELECT user_id FROM orders)",
		"SELECT (SELECT MAX(card) FROM orders) FROM users",
		"SELECT id FROM users UNION SELECT id FROM orders",
		"WITH x AS (SELECT * FROM orders) SELECT * FROM x",
		"WITH users AS (SELECT * FROM orders) SELECT * FROM users",
		"SELECT * FROM (SELECT * FROM (SELECT user_id FROM orders) a) b",
		"SHOW CREATE TABLE orders",
		"DESCRIBE orders",
		"EXPLAIN SELECT * FROM orders",
	} {
		_, err := f.run(t, f.dev, "orders-1", "shop", sql)
		wantRefused(t, sql, err, "table shop.orders is not granted to user dev on instance orders-1")
	}
	_, err = f.run(t, f.dev, "orders-1", "shop", "SELECT * FROM secret.keys")
	wantRefused(t, "other db", err, "table secret.keys is not granted")
	_, err = f.run(t, f.dev, "orders-1", "shop", "SELECT * FROM information_schema.TABLES")
	wantRefused(t, "information_schema", err, "table information_schema.TABLES is not granted")

	// SHOW DATABASES and SHOW TABLES list only what is granted.
	if got := table(f.mustRun(t, f.dev, "orders-1", "", "SHOW DATABASES")); got != "Database|shop" {
		t.Errorf("show databases: %s", got)
	}
	if got := table(f.mustRun(t, f.dev, "orders-1", "shop", "SHOW TABLES")); got != "Tables_in_shop|users" {
		t.Errorf("show tables: %s", got)
	}
	_, err = f.run(t, f.dev, "orders-1", "", "SHOW TABLES FROM secret")
	wantRefused(t, "show tables of another db", err, "database secret is not granted")

	// A database grant: every table of it.
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "crm"})
	f.mustRun(t, f.dev, "orders-1", "crm", "SELECT * FROM contacts")
	if got := table(f.mustRun(t, f.dev, "orders-1", "", "SHOW DATABASES")); got != "Database|crm|shop" {
		t.Errorf("show databases: %s", got)
	}

	// Expiry is enforced by the server, not the client.
	g := f.grant(t, NewGrant{User: "ops", Instance: "orders-1", Database: "shop", Expires: "1h"})
	f.mustRun(t, f.ops, "orders-1", "shop", "SELECT * FROM orders")
	real := f.svc.now
	f.svc.now = func() time.Time { return real().Add(2 * time.Hour) }
	_, err = f.run(t, f.ops, "orders-1", "shop", "SELECT * FROM orders")
	wantRefused(t, "expired", err, "has no query grant on instance orders-1")
	all, err := f.svc.ListGrants(f.ctx, f.dba, GrantFilter{User: "ops", All: true})
	if err != nil || len(all) != 1 || !all[0].Expired {
		t.Errorf("expired grant listed as %+v %v", all, err)
	}
	f.svc.now = real
	// Renewing (same scope) extends it.
	if g2 := f.grant(t, NewGrant{User: "ops", Instance: "orders-1", Database: "shop", Expires: "30d"}); g2.ID != g.ID || !g2.ExpiresAt.After(g.ExpiresAt) {
		t.Errorf("renewed grant %+v, was %+v", g2, g)
	}

	// Role grants apply to that role and those above it; revoking works.
	rg := f.grant(t, NewGrant{Role: "developer", Instance: "pg-1", Database: "app"})
	f.mustRun(t, f.dev, "pg-1", "app", "SELECT * FROM users")
	f.mustRun(t, f.ops, "pg-1", "app", "SELECT * FROM crm.contacts")
	_, err = f.run(t, f.dev, "pg-1", "postgres", "SELECT 1")
	wantRefused(t, "other pg database", err, "database postgres is not granted")
	if err := f.svc.RevokeGrant(f.as(f.dba), f.dba, rg.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.run(t, f.dev, "pg-1", "app", "SELECT 1")
	wantRefused(t, "revoked", err, "no query grant on instance pg-1")

	// PostgreSQL table grants are schema-qualified; public is the default.
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "users"})
	f.mustRun(t, f.dev, "pg-1", "app", "SELECT * FROM public.users")
	_, err = f.run(t, f.dev, "pg-1", "app", "SELECT * FROM crm.contacts")
	wantRefused(t, "pg other schema", err, "table app.crm.contacts is not granted")
	_, err = f.run(t, f.dev, "pg-1", "app", "SELECT * FROM pg_authid")
	wantRefused(t, "pg catalog", err, "table app.pg_catalog.pg_authid is not granted")

	// Who may list and manage grants.
	mine, err := f.svc.ListGrants(f.ctx, f.dev, GrantFilter{})
	if err != nil || len(mine) != 3 {
		t.Errorf("dev's grants: %+v %v", mine, err)
	}
	_, err = f.svc.ListGrants(f.ctx, f.dev, GrantFilter{User: "ops"})
	wantRefused(t, "list others' grants", err, "may list only their own grants")
	_, err = f.svc.AddGrant(f.ctx, f.dev, NewGrant{User: "dev", Instance: "orders-1"})
	wantRefused(t, "dev grants", err, "lacks permission query.grant")
	for _, bad := range []struct {
		n    NewGrant
		want string
	}{
		{NewGrant{Instance: "orders-1"}, "needs a user or a role"},
		{NewGrant{User: "nobody", Instance: "orders-1"}, `user "nobody" not found`},
		{NewGrant{Role: "boss", Instance: "orders-1"}, "unknown role"},
		{NewGrant{User: "dev", Instance: "nope"}, `instance "nope" not found`},
		{NewGrant{User: "dev", Instance: "orders-1", Table: "users"}, "needs its database"},
		{NewGrant{User: "dev", Instance: "orders-1", Expires: "2001-01-01"}, "is in the past"},
		{NewGrant{User: "dev", Instance: "orders-1", Expires: "soon"}, "invalid expiry"},
		{NewGrant{User: "dev", Instance: "cache-1", Database: "0", Table: "x"}, "Redis has no tables"},
	} {
		_, err := f.svc.AddGrant(f.ctx, f.dba, bad.n)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("grant %+v: %v, want %q", bad.n, err, bad.want)
		}
	}
	e := lastAudit(t, f, "query.grant")
	if e.User != "dba" || e.Detail["scope"] != "pg-1/app/public.users" {
		t.Errorf("grant audit: %+v", e)
	}
	e = lastAudit(t, f, "query.revoke")
	if e.Detail["scope"] != "pg-1/app" || e.Detail["subject"] != "role developer" {
		t.Errorf("revoke audit: %+v", e)
	}
}

// Masking by lineage on both engines: aliases, expressions, subqueries,
// UNION, * and t.*, views; callers with query.unmask see the values.
func TestMasking(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	f.mask(t, MaskRule{Column: "*email*", Kind: MaskEmail})
	f.mask(t, MaskRule{Table: "orders", Column: "card", Kind: MaskBankCard})
	for _, tc := range []struct{ sql, want string }{
		{"SELECT id, phone FROM users ORDER BY id", "id,phone|1,138****5678|2,139****4321"},
		{"SELECT phone AS p FROM users WHERE id = 1", "p|138****5678"},
		{"SELECT u.phone x, u.email FROM users u WHERE id = 1", "x,email|138****5678,a***@example.com"},
		{"SELECT CONCAT('+86', phone) AS intl FROM users WHERE id = 1", "intl|******"},
		{"SELECT SUBSTRING(phone, 4, 8) AS mid FROM users WHERE id = 1", "mid|******"},
		{"SELECT UPPER(email) AS e FROM users WHERE id = 1", "e|******"},
		{"SELECT m FROM (SELECT phone AS m FROM users WHERE id = 1) d", "m|138****5678"},
		{"SELECT (SELECT phone FROM users u2 WHERE u2.id = u.id) AS s FROM users u WHERE id = 1", "s|******"},
		{"SELECT name FROM users WHERE id = 1 UNION ALL SELECT phone FROM users WHERE id = 1", "name|******|138****5678"},
		{"SELECT * FROM users WHERE id = 1", "id,name,phone,email|1,Alice,138****5678,a***@example.com"},
		{"SELECT u.*, o.card FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 1", "id,name,phone,email,card|1,Alice,138****5678,a***@example.com,***************3445"},
		{"SELECT o.* FROM orders o WHERE id = 10", "id,user_id,card|10,1,***************3445"},
		{"WITH c AS (SELECT phone AS p FROM users WHERE id = 2) SELECT p FROM c", "p|139****4321"},
		{"SELECT COUNT(phone) AS n, MAX(phone) AS m FROM users", "n,m|2,******"},
		{"SELECT id FROM users WHERE phone LIKE '138%'", "id|1"},
		{"SELECT * FROM contact_v WHERE id = 1", "id,mobile|1,138****5678"},
		{"SELECT CASE WHEN id = 1 THEN phone ELSE name END AS c FROM users WHERE id = 1", "c|******"},
	} {
		for _, inst := range []struct{ name, db string }{{"orders-1", "shop"}, {"pg-1", "app"}} {
			sql := tc.sql
			if inst.name == "pg-1" {
				sql = strings.NewReplacer("CONCAT('+86', phone)", "'+86' || phone", "SUBSTRING(phone, 4, 8)", "substring(phone from 4 for 8)").Replace(sql)
			}
			res, err := f.run(t, f.dev, inst.name, inst.db, sql)
			if err != nil {
				t.Errorf("%s: %s: %v", inst.name, sql, err)
				continue
			}
			want := tc.want
			if inst.name == "pg-1" {
				want = strings.NewReplacer("COUNT(*)", "count").Replace(want)
			}
			if got := table(res); got != want {
				t.Errorf("%s: %s:\n got %s\nwant %s", inst.name, sql, got, want)
			}
		}
	}
	// The mask kinds are reported per column, and audited.
	res := f.mustRun(t, f.dev, "orders-1", "shop", "SELECT id, phone, CONCAT(email, '') AS e FROM users")
	if res.Columns[0].Masked != "" || res.Columns[1].Masked != MaskPhone || res.Columns[2].Masked != MaskFull {
		t.Errorf("columns: %+v", res.Columns)
	}
	if e := lastAudit(t, f, "query.run"); fmt.Sprint(e.Detail["masked"]) != "[phone e]" {
		t.Errorf("audit masked: %v", e.Detail)
	}
	// PostgreSQL whole-row references carry every column.
	if got := table(f.mustRun(t, f.dev, "pg-1", "app", "SELECT u AS r FROM users u WHERE id = 1")); got != "r|******" {
		t.Errorf("whole row: %s", got)
	}
	// Unmask: DBAs see values.
	if got := table(f.mustRun(t, f.dba, "orders-1", "shop", "SELECT phone FROM users WHERE id = 1")); got != "phone|13812345678" {
		t.Errorf("dba: %s", got)
	}
	// MariaDB invisible columns are named, not part of *.
	if got := table(f.mustRun(t, f.dev, "orders-1", "shop", "SELECT note, phone FROM users WHERE id = 1")); got != "note,phone|n1,138****5678" {
		t.Errorf("invisible: %s", got)
	}
}

// When lineage cannot be worked out, the query is refused rather than
// leaked; without rules nothing needs working out.
func TestMaskingRefusesUnknownLineage(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1"})
	// No rule yet: a view of unknown definition is fine.
	f.mustRun(t, f.dev, "orders-1", "shop", "SELECT * FROM contact_v")
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	// The superuser sees the view; a reader without SHOW VIEW would not.
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: "reader", Password: "reader-pass"}); err != nil {
		t.Fatal(err)
	}
	res := f.mustRun(t, f.dev, "orders-1", "shop", "SELECT CURRENT_USER() AS u, mobile FROM contact_v WHERE id = 2")
	if got := table(res); got != "u,mobile|reader@%,139****4321" {
		t.Errorf("with credential: %s", got)
	}
	servers(t).cluster.Primary().Exec(t, "REVOKE SHOW VIEW ON shop.* FROM 'reader'@'%'")
	defer servers(t).cluster.Primary().Exec(t, "GRANT SHOW VIEW ON shop.* TO 'reader'@'%'")
	f.svc.cache = newSchemaCache(time.Minute)
	_, err := f.run(t, f.dev, "orders-1", "shop", "SELECT * FROM contact_v")
	wantRefused(t, "dark view", err, "masking cannot be guaranteed for this statement, so it is not run: view shop.contact_v: its definition is not visible")
	_, err = f.run(t, f.dev, "orders-1", "shop", "SELECT nosuch FROM users")
	wantRefused(t, "unknown column", err, "cannot resolve column nosuch")
}

func TestLimitsAndTimeouts(t *testing.T) {
	f := newFixture(t, Config{RowLimit: 100, RoleRowLimits: map[string]int{"dba": 1200}, StatementTimeout: time.Second})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1"})
	for _, tc := range []struct{ instance, db string }{{"orders-1", "shop"}, {"pg-1", "app"}} {
		res := f.mustRun(t, f.dev, tc.instance, tc.db, "SELECT n FROM seq ORDER BY n")
		if len(res.Rows) != 100 || !res.Truncated || res.RowLimit != 100 {
			t.Errorf("%s: %d rows, truncated %v, limit %d", tc.instance, len(res.Rows), res.Truncated, res.RowLimit)
		}
		res = f.mustRun(t, f.dba, tc.instance, tc.db, "SELECT n FROM seq")
		if len(res.Rows) != 1200 || !res.Truncated {
			t.Errorf("%s dba: %d rows, truncated %v", tc.instance, len(res.Rows), res.Truncated)
		}
		res, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: tc.instance, Database: tc.db, Statement: "SELECT n FROM seq", Limit: 5, Primary: true})
		if err != nil || len(res.Rows) != 5 || !res.Truncated {
			t.Errorf("%s limit 5: %v", tc.instance, err)
		}
		res = f.mustRun(t, f.dev, tc.instance, tc.db, "SELECT n FROM seq WHERE n <= 100")
		if len(res.Rows) != 100 || res.Truncated {
			t.Errorf("%s exactly 100: %d rows, truncated %v", tc.instance, len(res.Rows), res.Truncated)
		}
		// A slow query without SLEEP: a large cross join is stopped.
		start := time.Now()
		_, err = f.run(t, f.dev, tc.instance, tc.db, "SELECT COUNT(*) FROM seq a, seq b, seq c WHERE a.n + b.n + c.n = -1")
		if err == nil || !strings.Contains(err.Error(), "ran longer than the 1s limit") {
			t.Errorf("%s: slow query: %v", tc.instance, err)
		}
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("%s: the slow query ran %s", tc.instance, took)
		}
		if e := lastAudit(t, f, "query.failed"); !strings.Contains(fmt.Sprint(e.Detail["error"]), "limit") {
			t.Errorf("%s: audit %+v", tc.instance, e)
		}
	}
	_, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "orders-1", Statement: "SELECT 1", Timeout: "soon"})
	if errkind.Of(err) != errkind.Invalid {
		t.Errorf("bad timeout: %v", err)
	}
}

func TestReplicaPreferred(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	ctx := context.Background()
	check := func() {
		for _, n := range []string{"orders-1", "orders-2"} {
			if _, err := f.inv.Check(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not checked yet: state unknown, the primary serves.
	req := Request{Instance: "orders-1", Database: "shop", Statement: "SELECT @@server_id AS id, COUNT(*) AS n FROM users"}
	res, err := f.svc.Run(f.as(f.dev), f.dev, req)
	if err != nil || res.RanOn != "orders-1" {
		t.Fatalf("unchecked: %+v %v", res, err)
	}
	check()
	res, err = f.svc.Run(f.as(f.dev), f.dev, req)
	if err != nil || res.RanOn != "orders-2" || table(res) != "id,n|2,2" {
		t.Fatalf("healthy replica: %+v %v", res, err)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "ran on replica orders-2") {
		t.Errorf("notes: %v", res.Notes)
	}
	if e := lastAudit(t, f, "query.run"); e.Detail["ran_on"] != "orders-2" {
		t.Errorf("audit: %+v", e)
	}
	req.Primary = true
	if res, err = f.svc.Run(f.as(f.dev), f.dev, req); err != nil || res.RanOn != "orders-1" || table(res) != "id,n|1,2" {
		t.Errorf("primary asked for: %+v %v", res, err)
	}
	req.Primary = false
	// A replica whose applier stopped is not used.
	replica := servers(t).cluster.Nodes[1]
	replica.Exec(t, "STOP SLAVE SQL_THREAD")
	defer replica.Exec(t, "START SLAVE SQL_THREAD")
	check()
	if res, err = f.svc.Run(f.as(f.dev), f.dev, req); err != nil || res.RanOn != "orders-1" {
		t.Errorf("stopped replica: %+v %v", res, err)
	}
	replica.Exec(t, "START SLAVE SQL_THREAD")
	check()
	// A stale probe is not trusted.
	real := f.svc.now
	f.svc.now = func() time.Time { return real().Add(10 * time.Minute) }
	if res, err = f.svc.Run(f.as(f.dev), f.dev, req); err != nil || res.RanOn != "orders-1" {
		t.Errorf("stale status: %+v %v", res, err)
	}
	f.svc.now = real
}

func TestAuditEntries(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users"})
	f.mustRun(t, f.dev, "orders-1", "shop", "SELECT id, name FROM users")
	e := lastAudit(t, f, "query.run")
	if e.User != "dev" || e.Addr != "192.0.2.7" || e.Target != "orders-1" || e.Detail["database"] != "shop" ||
		e.Detail["statement"] != "SELECT id, name FROM users" || fmt.Sprint(e.Detail["rows"]) != "2" || e.Detail["took_ms"] == nil || e.Detail["ran_on"] != "orders-1" {
		t.Errorf("run: %+v", e)
	}
	_, err := f.run(t, f.dev, "orders-1", "shop", "SELECT * FROM orders")
	if err == nil {
		t.Fatal("not refused")
	}
	e = lastAudit(t, f, "query.refused")
	if e.User != "dev" || !strings.Contains(fmt.Sprint(e.Detail["refused"]), "table shop.orders is not granted") {
		t.Errorf("refused: %+v", e)
	}
	_, err = f.run(t, f.dev, "orders-1", "shop", "SELECT nosuch FROM users")
	if err == nil {
		t.Fatal("ran")
	}
	e = lastAudit(t, f, "query.failed")
	if !strings.Contains(fmt.Sprint(e.Detail["error"]), "nosuch") {
		t.Errorf("failed: %+v", e)
	}
	// A cancelled request is still recorded.
	ctx, cancel := context.WithCancel(f.as(f.dev))
	cancel()
	f.svc.Run(ctx, f.dev, Request{Instance: "orders-1", Database: "shop", Statement: "SELECT 42"})
	if es, _ := audit.NewLog(f.db).List(context.Background(), audit.Filter{Action: "query.", Limit: 1}); len(es) == 0 || es[0].Detail["statement"] != "SELECT 42" {
		t.Errorf("cancelled: %+v", es)
	}
}

func TestRedis(t *testing.T) {
	f := newFixture(t, Config{RowLimit: 20})
	f.grant(t, NewGrant{User: "dev", Instance: "cache-1", Database: "0"})
	for _, tc := range []struct{ cmd, want string }{
		{"GET key:07", "value|7"},
		{"get key:07", "value|7"},
		{"HGET user:1 name", "value|Alice"},
		{"HMGET user:1 name phone", "value|Alice|13812345678"},
		{"HGETALL user:2", "field,value|name,Bob|phone,13987654321"},
		{"MGET key:01 key:02 nokey", "value|1|2|NULL"},
		{"LRANGE list 0 2", "value|item00|item01|item02"},
		{"LRANGE list -3 -1", "value|item27|item28|item29"},
		{"TTL key:01", "value|-1"},
		{"TYPE user:1", "value|hash"},
		{"EXISTS key:01 nokey", "value|1"},
		{"HLEN big", "value|50"},
		{"SCARD set", "value|3"},
		{"DBSIZE", "value|36"},
	} {
		res, err := f.run(t, f.dev, "cache-1", "", tc.cmd)
		if err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
			continue
		}
		if got := table(res); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.cmd, got, tc.want)
		}
	}
	res := f.mustRun(t, f.dev, "cache-1", "", "SCAN 0 MATCH key:* COUNT 10")
	if res.Columns[0].Name != "key" || len(res.Rows) > 20 || !strings.Contains(strings.Join(res.Notes, " "), "next cursor") {
		t.Errorf("scan: %s %v", table(res), res.Notes)
	}
	res = f.mustRun(t, f.dev, "cache-1", "", "INFO server")
	if !strings.Contains(table(res), "redis_version,7.") {
		t.Errorf("info: %s", table(res))
	}
	for _, tc := range []struct{ cmd, want string }{
		{"KEYS *", "KEYS is not allowed: it walks every key"},
		{"keys user:*", "KEYS is not allowed"},
		{"FLUSHALL", "FLUSHALL is not allowed"},
		{"FLUSHDB", "FLUSHDB is not allowed"},
		{"DEBUG SLEEP 1", "DEBUG is not allowed"},
		{"MONITOR", "MONITOR is not allowed"},
		{"SUBSCRIBE ch", "SUBSCRIBE is not allowed"},
		{"EVAL \"return redis.call('flushall')\" 0", "EVAL is not allowed"},
		{"CONFIG GET requirepass", "CONFIG is not allowed"},
		{"SET k v", "SET is not in the read-only command subset"},
		{"DEL key:01", "DEL is not in the read-only command subset"},
		{"BLPOP list 0", "BLPOP is not allowed: it blocks"},
		{"SELECT 1", "SELECT is not allowed"},
		{"HGETALL big", "big has 50 fields, more than the row limit 20: use HSCAN big 0 COUNT 20"},
		{"LRANGE list 0 -1", "asks for 30 elements, more than the row limit 20"},
		{"SCAN 0 COUNT 1000", "COUNT 1000 is more than the row limit 20"},
		{"GET", "GET takes 1 argument"},
		{"GET \"unterminated", "unbalanced"},
		{"OBJECT HELP", "OBJECT HELP is not allowed"},
		{"GET huge", "the value is 2097152 bytes, more than the 1048576 shown at once"},
		{"HGET user:1 blob", "more than the 1048576 shown at once"},
	} {
		_, err := f.run(t, f.dev, "cache-1", "", tc.cmd)
		wantRefused(t, tc.cmd, err, tc.want)
	}
	if got, _ := servers(t).rd.Client(t).Get(context.Background(), "key:01").Result(); got != "1" {
		t.Errorf("key:01 = %q after the refusals", got)
	}
	_, err := f.run(t, f.dev, "cache-1", "1", "GET key:01")
	wantRefused(t, "db 1", err, "database 1 is not granted")
}

func TestSchemaBrowser(t *testing.T) {
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users"})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "crm"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app", Table: "public.orders"})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	ctx := f.as(f.dev)
	ins, err := f.svc.Instances(ctx, f.dev)
	if err != nil || len(ins) != 2 || ins[0].Name != "orders-1" || ins[1].Name != "pg-1" {
		t.Fatalf("instances: %+v %v", ins, err)
	}
	dbs, err := f.svc.Databases(ctx, f.dev, "orders-1")
	if err != nil || strings.Join(dbs, ",") != "crm,shop" {
		t.Errorf("databases: %v %v", dbs, err)
	}
	tables, err := f.svc.Tables(ctx, f.dev, "orders-1", "shop")
	if err != nil || len(tables) != 1 || tables[0].Name != "users" {
		t.Errorf("tables: %+v %v", tables, err)
	}
	_, err = f.svc.Tables(ctx, f.dev, "orders-1", "secret")
	wantRefused(t, "tables of secret", err, "database secret is not granted")
	cols, err := f.svc.Columns(ctx, f.dev, "orders-1", "shop", "users")
	if err != nil || len(cols) != 5 || cols[2].Name != "phone" || cols[2].Masked != MaskPhone || cols[1].Masked != "" || cols[0].Type != "int(11)" {
		t.Errorf("columns: %+v %v", cols, err)
	}
	_, err = f.svc.Columns(ctx, f.dev, "orders-1", "shop", "orders")
	wantRefused(t, "columns of orders", err, "table shop.orders is not granted")
	dbs, err = f.svc.Databases(ctx, f.dev, "pg-1")
	if err != nil || strings.Join(dbs, ",") != "app" {
		t.Errorf("pg databases: %v %v", dbs, err)
	}
	tables, err = f.svc.Tables(ctx, f.dev, "pg-1", "app")
	if err != nil || len(tables) != 1 || tables[0].Name != "public.orders" {
		t.Errorf("pg tables: %+v %v", tables, err)
	}
	cols, err = f.svc.Columns(ctx, f.dev, "pg-1", "app", "orders")
	if err != nil || len(cols) != 3 || cols[2].Name != "card" {
		t.Errorf("pg columns: %+v %v", cols, err)
	}
	// A DBA sees, unmasked, what the read-all reader may read: every
	// database, granted or not, but never the system's.
	dbs, err = f.svc.Databases(f.as(f.dba), f.dba, "orders-1")
	if all := strings.Join(dbs, ","); err != nil || !strings.Contains(all, "crm") || !strings.Contains(all, "shop") ||
		!strings.Contains(all, "secret") || strings.Contains(all, "mysql") || strings.Contains(all, "performance_schema") {
		t.Errorf("dba databases: %v %v", dbs, err)
	}
	cols, err = f.svc.Columns(f.as(f.dba), f.dba, "orders-1", "shop", "users")
	if err != nil || cols[2].Masked != "" {
		t.Errorf("dba columns: %+v %v", cols, err)
	}
}

func TestCredentials(t *testing.T) {
	f := newFixture(t, Config{})
	_, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: "reader", Password: "wrong"})
	if errkind.Of(err) != errkind.Upstream || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: %v", err)
	}
	if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, "orders-1", NewCredential{User: "reader", Password: "reader-pass"}); err != nil {
		t.Fatal(err)
	}
	var stored string
	f.db.QueryRowContext(context.Background(), "SELECT password FROM query_credentials WHERE instance = 'orders-1'").Scan(&stored)
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, "reader-pass") {
		t.Errorf("stored password %q", stored)
	}
	list, err := f.svc.ListCredentials(context.Background())
	if err != nil || len(list) != 1 || list[0].User != "reader" {
		t.Errorf("list: %+v %v", list, err)
	}
	// The replica has no credential of its own: the primary's is used.
	for _, n := range []string{"orders-1", "orders-2"} {
		f.inv.Check(context.Background(), n)
	}
	res, err := f.svc.Run(f.as(f.dba), f.dba, Request{Instance: "orders-1", Statement: "SELECT CURRENT_USER() AS u"})
	if err != nil || table(res) != "u|reader@%" || res.RanOn != "orders-2" {
		t.Errorf("run: %+v %v", res, err)
	}
	// The read-only account cannot read what it was not granted.
	_, err = f.run(t, f.dba, "orders-1", "", "SELECT * FROM secret.keys")
	if errkind.Of(err) != errkind.Upstream {
		t.Errorf("secret via reader: %v", err)
	}
	if err := f.svc.RemoveCredential(f.as(f.dba), f.dba, "orders-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveCredential(f.as(f.dba), f.dba, "orders-1"); errkind.Of(err) != errkind.NotFound {
		t.Errorf("remove twice: %v", err)
	}
	_, err = f.svc.SetCredential(f.as(f.dev), f.dev, "orders-1", NewCredential{User: "x"})
	wantRefused(t, "dev sets credential", err, "lacks permission query.grant")
}

// The store works on both metadata dialects.
func TestStoreDialects(t *testing.T) {
	for _, d := range []struct {
		name string
		db   func(t *testing.T) *sqldb.DB
	}{
		{"sqlite", func(t *testing.T) *sqldb.DB { return sqldbtest.SQLite(t) }},
		{"postgres", pgStore},
	} {
		t.Run(d.name, func(t *testing.T) {
			f := newFixtureOn(t, d.db(t), Config{})
			g := f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Expires: "2h", Reason: "r"})
			f.grant(t, NewGrant{Role: "developer", Instance: "pg-1"})
			gs, err := f.svc.ListGrants(f.ctx, f.dba, GrantFilter{User: "dev"})
			if err != nil || len(gs) != 2 || gs[0].ID != g.ID || gs[0].Reason != "r" || gs[1].Role != "developer" {
				t.Errorf("grants: %+v %v", gs, err)
			}
			m := f.mask(t, MaskRule{Database: "shop", Table: "users", Column: "phone", Kind: MaskCustom, KeepFirst: 2, KeepLast: 2})
			if _, err := f.svc.AddMask(f.ctx, f.dba, MaskRule{Database: "shop", Table: "users", Column: "phone", Kind: MaskFull}); errkind.Of(err) != errkind.Conflict {
				t.Errorf("duplicate mask: %v", err)
			}
			rules, err := f.svc.ListMasks(f.ctx)
			if err != nil || len(rules) != 1 || rules[0].KeepFirst != 2 || rules[0].Spec() != "shop.users.phone" {
				t.Errorf("masks: %+v %v", rules, err)
			}
			if err := f.svc.RemoveMask(f.ctx, f.dba, m.ID); err != nil {
				t.Error(err)
			}
			if err := f.svc.RevokeGrant(f.ctx, f.dba, g.ID); err != nil {
				t.Error(err)
			}
			if err := f.svc.RevokeGrant(f.ctx, f.dba, g.ID); errkind.Of(err) != errkind.NotFound {
				t.Errorf("revoke twice: %v", err)
			}
			if _, err := f.svc.SetCredential(f.ctx, f.dba, "pg-1", NewCredential{User: servers(t).pg.User, Password: servers(t).pg.Password}); err != nil {
				t.Error(err)
			}
			if _, err := f.svc.SetCredential(f.ctx, f.dba, "pg-1", NewCredential{User: servers(t).pg.User, Password: servers(t).pg.Password}); err != nil {
				t.Errorf("replace credential: %v", err)
			}
			res, err := f.svc.Run(f.as(f.dev), f.dev, Request{Instance: "pg-1", Database: "app", Statement: "SELECT COUNT(*) FROM users"})
			if err != nil || table(res) != "count|2" {
				t.Errorf("run: %v", err)
			}
		})
	}
}

var pgStores int

func pgStore(t *testing.T) *sqldb.DB {
	pgStores++
	name := fmt.Sprintf("store%d", pgStores)
	servers(t).pg.CreateDatabase(t, name)
	db, err := sqldb.Open(context.Background(), servers(t).pg.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Config
		want string
	}{
		{Config{RoleRowLimits: map[string]int{"boss": 5}}, "unknown role"},
		{Config{RoleRowLimits: map[string]int{"dba": 0}}, "must be at least 1"},
	} {
		if err := tc.o.defaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
	o := Config{RoleRowLimits: map[string]int{"dba": 5000}}
	if err := o.defaults(); err != nil || o.RowLimit != 1000 || o.StatementTimeout != 30*time.Second {
		t.Errorf("defaults: %+v %v", o, err)
	}
}
