package route

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// FuzzRoute: Route never panics, from any of the test's starting states;
// what it sends to a replica is a read by the lexer's class and, when
// the full parser reads it as one statement, by the tree's class too (a
// statement the router cannot classify never goes to a replica); the
// state stays coherent.
func FuzzRoute(f *testing.F) {
	seeds := []string{
		"SELECT 1", "SELECT * FROM t FOR UPDATE", "BEGIN", "START TRANSACTION READ ONLY", "COMMIT AND CHAIN",
		"SET @a = 1", "SET autocommit = 0", "SET NAMES utf8mb4", "SELECT GET_LOCK('a', 1)", "PREPARE s FROM 'SELECT 1'",
		"EXECUTE s", "/*!40101 SET NAMES utf8 */", "/* dbfleet:replica */ SELECT 1", "SELECT 1; SELECT 2",
		"/*!99999 SELECT 1 FROM */ t", "SELECT @r := 1", "LOCK TABLES t READ", "FLUSH TABLES WITH READ LOCK",
		"CREATE TEMPORARY TABLE t (a int)", "WITH x AS (SELECT 1) DELETE FROM t", "EXECUTE IMMEDIATE 'SELECT 1'",
		"SET STATEMENT max_statement_time=1 FOR DELETE FROM t", "/*M!100100 DELETE FROM t */", "SELECT '", "/*",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	names := make([]string, 0, len(setups))
	for n := range setups {
		names = append(names, n)
	}
	f.Fuzz(func(t *testing.T, setup uint8, q string) {
		st := newState(names[int(setup)%len(names)])
		d := Route(st, q)
		if st.ReadOnlyTx && !st.InTx {
			t.Fatalf("%q: a read-only transaction outside a transaction", q)
		}
		if d.Target != Replica {
			return
		}
		if c := sql.LexClass(st.Dialect, q); c.Verb == "EXECUTE" {
			q = ranText(st, q) // EXECUTE is routed as the statement it runs
		}
		c := sql.LexClass(st.Dialect, q)
		if c.Kind != sql.KindQuery || c.Locking != "" || c.SelectInto != "" {
			if !(c.Kind == sql.KindTxn && d.Reason == "ro-tx-begin") && st.ForceTarget == nil {
				t.Fatalf("%q (%+v) went to a replica (%s)", q, c, d.Reason)
			}
		}
		if st.ForceTarget != nil {
			return
		}
		if p, err := sql.Parse(st.Dialect, q); err == nil && (p.MySQL != nil || p.Manual != "") {
			tc := p.Class()
			if (tc.Kind != sql.KindQuery && tc.Kind != sql.KindTxn) || tc.Locking != "" || tc.SelectInto != "" {
				t.Fatalf("%q: the tree says %+v, routed to a replica (%s)", q, tc, d.Reason)
			}
		}
	})
}

// ranText returns the statement an EXECUTE runs: its prepared
// statement, or EXECUTE IMMEDIATE's literal.
func ranText(st *State, q string) string {
	toks := sql.Tokens(q, st.Dialect)
	if len(toks) < 2 {
		return q
	}
	if toks[1].Is(q, "IMMEDIATE") && len(toks) > 2 {
		s, _ := sql.UnquoteString(st.Dialect, toks[2].Text(q))
		return s
	}
	return st.Prepared[strings.ToLower(toks[1].Name(q))]
}
