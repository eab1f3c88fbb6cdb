package route

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sql/sqltest"
)

// TestAgreesWithParser: on every MySQL-family statement of
// internal/sql's classify.golden corpus that the full parser reads, the
// router's read/write split from a new session agrees with the tree's
// class: a statement the tree says writes, locks or reads into
// something never goes to a replica and is marked Write when it changes
// data; a plain read goes to a replica unless a rule sends it elsewhere
// for a reason that is not "write" (LAST_INSERT_ID, FOUND_ROWS...), or
// the golden file records that the lexer is more cautious than the tree.
func TestAgreesWithParser(t *testing.T) {
	readReasons := map[string]bool{
		"read": true, "show": true, "previous": true, "last-insert-id": true, "sequence": true,
		"advisory-lock": true, "pinned:get_lock": true, "pinned:user-variable": true, "versioned-comment": true, "function": true, "server-variable": true,
	}
	n, replica := 0, 0
	for _, c := range sqltest.Cases(t) {
		if c.Dialect == sql.Postgres {
			continue
		}
		for _, s := range c.Stmts {
			if !s.Parsed() || s.InDelimiterBlock() {
				continue
			}
			n++
			st := NewState(c.Dialect)
			st.ServerVersion = 101106
			if c.Dialect == sql.MySQL {
				st.ServerVersion = 80035
			}
			d := Route(st, s.Text)
			tree := s.Class
			where := c.Dialect.String() + " " + c.Name + ": " + sql.Clip(s.Text, 80)
			if d.Target == Replica {
				replica++
			}
			switch tree.Kind {
			case sql.KindQuery:
				if tree.Locking != "" || tree.SelectInto != "" {
					if d.Target == Replica || d.Target == Session {
						t.Errorf("%s: a %s read went to %s (%s)", where, tree.Locking+tree.SelectInto, d.Target, d.Reason)
					}
					continue
				}
				if !readReasons[d.Reason] && s.LexUnsure == "" {
					t.Errorf("%s: a read the tree knows went to %s (%s)", where, d.Target, d.Reason)
				}
			case sql.KindDML, sql.KindDDL:
				if d.Target == Replica || d.Target == Session || d.Target == Previous || !d.Write {
					t.Errorf("%s: a %s statement routed %s", where, tree.Kind, render(d))
				}
			case sql.KindOther:
				if tree.Verb == "EXECUTE" && strings.HasPrefix(sql.Clip(s.Text, 40), "EXECUTE IMMEDIATE '") && d.Reason == "read" {
					continue // the router classifies the text it runs, a read
				}
				if d.Target == Replica || d.Target == Session || d.Target == Previous {
					t.Errorf("%s: an %q statement routed %s", where, tree.Verb, render(d))
				}
			case sql.KindSession:
				if d.Target == Replica || d.Target == Previous || (d.Target == Primary && !strings.HasPrefix(d.Reason, "pinned:")) {
					t.Errorf("%s: a session statement routed %s", where, render(d))
				}
			case sql.KindTxn:
				ro := d.Reason == "ro-tx-begin" && tree.Txn == "START TRANSACTION"
				set := strings.HasPrefix(tree.Txn, "SET ") // a session command, replayed
				if (d.Target == Replica && !ro) || (d.Target == Session && !set) || d.Target == Previous {
					t.Errorf("%s: transaction control %q routed %s", where, tree.Txn, render(d))
				}
			}
		}
	}
	if n < 250 {
		t.Fatalf("only %d statements of the corpus", n)
	}
	t.Logf("%d statements of the corpus, %d routed to a replica", n, replica)
}
