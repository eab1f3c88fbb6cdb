package query

import (
	"context"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// What the server receives is the statement rendered from the checked
// tree, never the text as written: read back from MariaDB's general log.
func TestServerReceivesTheRenderedText(t *testing.T) {
	p := servers(t).cluster.Primary()
	p.Exec(t, "SET GLOBAL log_output = 'TABLE'", "TRUNCATE TABLE mysql.general_log", "SET GLOBAL general_log = 'ON'")
	t.Cleanup(func() { p.Exec(t, "SET GLOBAL general_log = 'OFF'", "TRUNCATE TABLE mysql.general_log") })
	f := newFixture(t, Config{})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.mask(t, MaskRule{Column: "phone", Kind: MaskPhone})
	db := p.DB(t, "")
	for _, stmt := range []string{
		"SELECT CONNECTION_ID() AS cid, id /* a comment */, phone FROM users -- trailing\nWHERE id = 1",
		"select connection_id() cid, 'it''s' s, \"dq\" d, 'a\\nb' e # hash comment",
		"(SELECT CONNECTION_ID() AS cid) UNION (SELECT 0) ORDER BY 1 DESC",
	} {
		res := f.mustRun(t, f.dev, "orders-1", "shop", stmt)
		cid := FormatValue(res.Rows[0][0])
		pl, err := planSQL(checkInput{dialect: sql.MariaDB, text: stmt, db: "shop", limit: f.svc.RowLimit(f.dev.Role), masked: true, allow: f.svc.allow})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(context.Background(), "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE thread_id = ? AND command_type = 'Query' ORDER BY event_time", cid)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a)
		}
		rows.Close()
		if len(got) == 0 || got[len(got)-1] != pl.sql {
			t.Errorf("%q: the server received %q, want last %q", stmt, got, pl.sql)
		}
		for _, g := range got {
			if g == stmt || strings.Contains(g, "comment") {
				t.Errorf("%q: the server received the text as written: %q", stmt, g)
			}
		}
		if !strings.Contains(pl.sql, "LIMIT") {
			t.Errorf("%q: no LIMIT in %q", stmt, pl.sql)
		}
	}
}

// Every kind of statement the console allows runs on the real servers
// once rendered: the renderer writes what MariaDB and PostgreSQL read.
func TestAllowedStatementsRun(t *testing.T) {
	f := newFixture(t, Config{})
	for _, tc := range []struct{ instance, db, sql, kind string }{
		{"orders-1", "shop", "SELECT id, name FROM users WHERE id = 1", KindSelect},
		{"orders-1", "shop", "(SELECT id FROM users) UNION ALL (SELECT id FROM orders) ORDER BY 1", KindSelect},
		{"orders-1", "shop", "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", KindSelect},
		{"orders-1", "shop", "SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn, COUNT(*) OVER () AS n FROM users", KindSelect},
		{"orders-1", "shop", "SELECT GROUP_CONCAT(name ORDER BY id SEPARATOR ';') AS g, DATE_FORMAT(NOW(), '%Y') AS y FROM users", KindSelect},
		{"orders-1", "shop", "SELECT POSITION('b' IN name), TRIM(LEADING 'A' FROM name), CAST(id AS CHAR), CONVERT(name USING utf8mb4) FROM users", KindSelect},
		{"orders-1", "shop", "EXPLAIN SELECT * FROM users WHERE id = 1", KindExplain},
		{"orders-1", "shop", "EXPLAIN FORMAT=JSON SELECT * FROM users", KindExplain},
		{"orders-1", "shop", "DESCRIBE users", KindShow},
		{"orders-1", "shop", "SHOW DATABASES", KindShow},
		{"orders-1", "shop", "SHOW FULL TABLES FROM crm LIKE 'c%'", KindShow},
		{"orders-1", "shop", "SHOW TABLE STATUS", KindShow},
		{"orders-1", "shop", "SHOW FULL COLUMNS FROM users", KindShow},
		{"orders-1", "shop", "SHOW INDEX FROM crm.contacts", KindShow},
		{"orders-1", "shop", "SHOW CREATE TABLE users", KindShow},
		{"orders-1", "shop", "SHOW CREATE VIEW contact_v", KindShow},
		{"orders-1", "shop", "SHOW CREATE DATABASE shop", KindShow},
		{"orders-1", "shop", "SHOW TRIGGERS", KindShow},
		{"orders-1", "shop", "SHOW VARIABLES LIKE 'max%'", KindShow},
		{"orders-1", "shop", "SHOW GLOBAL STATUS WHERE Variable_name = 'Uptime'", KindShow},
		{"orders-1", "shop", "SHOW ENGINES", KindShow},
		{"orders-1", "shop", "SHOW CHARSET", KindShow},
		{"orders-1", "shop", "SHOW COLLATION LIKE 'utf8mb4_bin'", KindShow},
		{"orders-1", "shop", "SHOW WARNINGS", KindShow},
		{"orders-1", "shop", "SHOW ERRORS", KindShow},
		{"orders-1", "shop", "SHOW PLUGINS", KindShow},
		{"orders-1", "shop", "SHOW PRIVILEGES", KindShow},
		{"pg-1", "app", "SELECT id, name FROM users WHERE id = 1", KindSelect},
		{"pg-1", "app", "TABLE users", KindSelect},
		{"pg-1", "app", "VALUES (1, 'a'), (2, 'b')", KindSelect},
		{"pg-1", "app", "SELECT position('b' in name), trim(both 'A' from name), substring(name from 1 for 2), extract(year from now()), name::text, count(*) OVER () FROM users", KindSelect},
		{"pg-1", "app", "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id), count(*) FILTER (WHERE id > 1), string_agg(name, ',' ORDER BY id) FROM users", KindSelect},
		{"pg-1", "app", "SELECT * FROM generate_series(1, 3) g, users TABLESAMPLE SYSTEM (100)", KindSelect},
		{"pg-1", "app", "SELECT 1 UNION SELECT 2 ORDER BY 1 LIMIT ALL", KindSelect},
		{"pg-1", "app", "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM users", KindExplain},
		{"pg-1", "app", "EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM users", KindExplain},
		{"pg-1", "app", "SHOW search_path", KindShow},
		{"pg-1", "app", "SHOW TIME ZONE", KindShow},
		{"pg-1", "app", "SHOW TRANSACTION ISOLATION LEVEL", KindShow},
	} {
		res, err := f.run(t, f.dba, tc.instance, tc.db, tc.sql)
		if err != nil {
			t.Errorf("%s: %s: %v", tc.instance, tc.sql, err)
			continue
		}
		if res.Kind != tc.kind || len(res.Columns) == 0 {
			t.Errorf("%s: %s: kind %s, %d columns", tc.instance, tc.sql, res.Kind, len(res.Columns))
		}
	}
	// EXPLAIN of a write: the DBA's read-all reader may not write, so the
	// server refuses it for want of the privilege, as the caller's
	// statement (a 400).
	for _, tc := range []struct{ instance, db, sql, want string }{
		{"orders-1", "shop", "EXPLAIN DELETE FROM users WHERE id = 1", "DELETE command denied to user 'dbfleet_ra_orders-1'"},
		{"orders-1", "shop", "EXPLAIN UPDATE users SET name = 'x' WHERE id = 1", "UPDATE command denied to user 'dbfleet_ra_orders-1'"},
		{"pg-1", "app", "EXPLAIN DELETE FROM users WHERE id = 1", "permission denied for table users"},
	} {
		_, err := f.run(t, f.dba, tc.instance, tc.db, tc.sql)
		if err == nil || httpx.Status(err) != 400 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s as the reader: %v", tc.sql, err)
		}
	}
	// With an account that could write, set on purpose as the DBA's
	// credential, the session alone holds: MariaDB refuses EXPLAIN of a
	// write in the read-only session (a 400, nothing written), PostgreSQL
	// explains it without running it.
	c := servers(t).cluster.Nodes[0]
	for _, cr := range []struct{ instance, user, password string }{{"orders-1", c.User, c.Password}, {"pg-1", servers(t).pg.User, servers(t).pg.Password}} {
		if _, err := f.svc.SetCredential(f.as(f.dba), f.dba, cr.instance, NewCredential{User: cr.user, Password: cr.password}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.svc.RemoveCredential(f.as(f.dba), f.dba, cr.instance) })
	}
	for _, st := range []string{"EXPLAIN DELETE FROM users WHERE id = 1", "EXPLAIN UPDATE users SET name = 'x' WHERE id = 1"} {
		_, err := f.run(t, f.dba, "orders-1", "shop", st)
		if err == nil || httpx.Status(err) != 400 || !strings.Contains(err.Error(), "READ ONLY") {
			t.Errorf("%s: %v", st, err)
		}
	}
	if res, err := f.run(t, f.dba, "pg-1", "app", "EXPLAIN DELETE FROM users WHERE id = 1"); err != nil || res.Kind != KindExplain || len(res.Rows) == 0 {
		t.Errorf("pg EXPLAIN DELETE with an account that could write: %+v %v", res, err)
	}
	// Nothing was written by the EXPLAINs of writes.
	if got := table(f.mustRun(t, f.dba, "orders-1", "shop", "SELECT COUNT(*) AS n FROM users WHERE name <> 'x'")); got != "n|2" {
		t.Errorf("users: %s", got)
	}
}
