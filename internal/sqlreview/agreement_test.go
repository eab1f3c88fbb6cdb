package sqlreview

import (
	"context"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sql/sqltest"
)

// TestAgreementWithGolden: the review reads every statement of internal/sql's
// golden file as the front end does, and its ticket-kind rule follows from
// that class: a DDL statement (other than those a data change may hold) in
// a data-change ticket, and a DML statement in a schema-change ticket, are
// errors.
func TestAgreementWithGolden(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, c sqltest.Case, g sqltest.Stmt) {
		if g.Client || g.Err != "" {
			return
		}
		s := &Stmt{N: 1, Text: g.Text, Verb: sql.Verb(g.Text, c.Dialect), Kind: g.Lex.Kind, dialect: c.Dialect}
		if serr := parseStmt(s); serr != nil {
			t.Fatalf("%q: the review cannot parse what the front end parsed: %s", g.Text, serr.Msg)
		}
		if s.Kind != g.Class.Kind {
			t.Errorf("%q: review kind %s, front end %s", g.Text, s.Kind, g.Class.Kind)
		}
		engine := c.Dialect.String()
		for _, kind := range []string{"dml", "ddl"} {
			rep, err := r.Review(context.Background(), Request{Engine: engine, SQL: g.Text, Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			flagged := false
			for _, f := range rep.Findings {
				if f.Rule == "statement-ticket-kind" {
					flagged = true
				}
			}
			switch {
			case kind == "ddl" && g.Class.Kind == sql.KindDML && !flagged:
				t.Errorf("%q (%s) passes in a schema-change ticket", g.Text, g.Class.Kind)
			case kind == "ddl" && g.Class.Kind != sql.KindDML && flagged:
				t.Errorf("%q (%s) flagged in a schema-change ticket", g.Text, g.Class.Kind)
			case kind == "dml" && callsCode(s) && !flagged:
				t.Errorf("%q (%s) passes in a data-change ticket", g.Text, g.Class.Verb)
			case kind == "dml" && g.Class.Kind != sql.KindDDL && !callsCode(s) && flagged:
				t.Errorf("%q (%s) flagged in a data-change ticket", g.Text, g.Class.Kind)
			}
		}
	}, sql.MariaDB, sql.MySQL, sql.Postgres)
}
