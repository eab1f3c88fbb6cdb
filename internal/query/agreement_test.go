package query

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sql/sqltest"
)

// TestAgreementWithGolden: the console's checks, run over every statement
// of internal/sql's golden file, accept only what the front end classifies
// as a read that writes nowhere and locks nothing; what they accept is
// sent re-rendered, never as written.
func TestAgreementWithGolden(t *testing.T) {
	accepted := 0
	sqltest.Each(t, func(t *testing.T, c sqltest.Case, g sqltest.Stmt) {
		db := "shop"
		if c.Dialect == sql.Postgres {
			db = "app"
		}
		p, err := planSQL(checkInput{dialect: c.Dialect, text: g.Text, db: db, limit: 10, allow: testAllow})
		if err != nil {
			return
		}
		accepted++
		switch {
		case g.Client || g.Err != "" || g.Manual != "":
			t.Errorf("%q: accepted, but the front end has no tree for it (%s%s)", g.Text, g.Err, g.Manual)
		case g.Class.Kind != sql.KindQuery || g.Class.SelectInto != "" || g.Class.Locking != "":
			t.Errorf("%q: accepted, but the front end says %+v", g.Text, g.Class)
		}
		if p.sql == g.Text {
			return // already in rendered form
		}
		parsed, err := sql.Parse(c.Dialect, p.sql)
		if err != nil {
			t.Fatalf("%q: sends %q, which does not parse: %v", g.Text, p.sql, err)
		}
		if again, err := parsed.Render(); err != nil || again != p.sql {
			t.Errorf("%q: sends %q, not a rendering of its tree (%q, %v)", g.Text, p.sql, again, err)
		}
	}, sql.MariaDB, sql.MySQL, sql.Postgres)
	if accepted == 0 {
		t.Fatal("the console accepted no statement of the golden file: the test checks nothing")
	}
	t.Logf("the console accepts %d statements of the golden file", accepted)
}
