package flows

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sql/sqltest"
)

// TestAgreementWithGolden: work orders read every script of internal/sql's
// golden file as the front end does: the same statements, the same class
// for each (the tree's, or the lexer's where there is no tree), so what
// flows treats as transaction control is what the front end says it is.
func TestAgreementWithGolden(t *testing.T) {
	for _, c := range sqltest.Cases(t) {
		if c.Dialect == sql.TiDB {
			continue
		}
		stmts := readScript(c.Dialect, c.Script)
		if len(stmts) != len(c.Stmts) {
			t.Errorf("%s: %d statements, the front end has %d", c.Name, len(stmts), len(c.Stmts))
			continue
		}
		for i, g := range c.Stmts {
			st := stmts[i]
			want := g.Class
			if !g.Parsed() {
				want = g.Lex
			}
			if g.Client != st.Client || (!g.Client && st.Class != want) {
				t.Errorf("%s [%d] %q: flows reads %+v, the front end %+v", c.Name, i+1, g.Text, st.Class, want)
			}
			if st.Client {
				continue
			}
			if got, wantTx := st.Class.Kind == sql.KindTxn, g.Parsed() && g.Class.Kind == sql.KindTxn; got != wantTx {
				t.Errorf("%s [%d] %q: transaction control %v, front end %v", c.Name, i+1, g.Text, got, wantTx)
			}
		}
	}
}
