package query

import (
	"context"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// What the server receives is the statement rendered from the checked
// tree, never the text as written: read back from MariaDB's general log.
func TestServerReceivesTheRenderedText(t *testing.T) {
	p := servers.cluster.Primary()
	p.Exec(t, "SET GLOBAL log_output = 'TABLE'", "TRUNCATE TABLE mysql.general_log", "SET GLOBAL general_log = 'ON'")
	t.Cleanup(func() { p.Exec(t, "SET GLOBAL general_log = 'OFF'", "TRUNCATE TABLE mysql.general_log") })
	f := newFixture(t, Options{})
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
