package flows

import (
	"fmt"

	"github.com/dbfleet/dbfleet/internal/engine"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// Work orders read SQL only through internal/sql: it splits a script,
// parses each statement and classifies it in the one vocabulary (query,
// dml, ddl, session, txn, other). What follows is flows' own use of that
// output: a summary of a script's kinds.

// dialect is the SQL dialect of an engine that work orders run SQL on
// (resolve refuses the others).
func dialect(k engine.Kind) sqlfe.Dialect { return sqlfe.DialectOf(string(k)) }

// statement is one statement of a script as internal/sql read it.
type statement struct {
	sqlfe.Statement
	// Parsed is its tree (nil when Err is set or for a client command).
	Parsed *sqlfe.Parsed
	// Err is why it did not parse: a *sqlfe.SyntaxError or a
	// *sqlfe.LimitError, wrapped in errkind.Invalid.
	Err error
	// Class is the tree's classification, or the lexer's when there is
	// no tree.
	Class sqlfe.Class
}

// readScript splits a script and parses each statement.
func readScript(d sqlfe.Dialect, script string) []statement {
	split := sqlfe.Split(script, d)
	out := make([]statement, len(split))
	for i, st := range split {
		out[i].Statement = st
		if st.Client {
			out[i].Class = sqlfe.Class{Kind: sqlfe.KindOther, Verb: firstWords(st.Text)}
			continue
		}
		p, err := sqlfe.Parse(d, st.Text)
		if err != nil {
			out[i].Err = err
			out[i].Class = sqlfe.LexClass(d, st.Text)
			continue
		}
		out[i].Parsed = p
		out[i].Class = p.Class()
	}
	return out
}

// kindOrder is the order in which a script's kinds are listed.
var kindOrder = []sqlfe.Kind{sqlfe.KindDDL, sqlfe.KindDML, sqlfe.KindQuery, sqlfe.KindSession, sqlfe.KindTxn, sqlfe.KindOther}

// scriptKinds lists the kinds of a script's statements, each once, in
// kindOrder: what review.kinds shows.
func scriptKinds(stmts []statement) []string {
	seen := map[sqlfe.Kind]bool{}
	for _, st := range stmts {
		seen[st.Class.Kind] = true
	}
	var out []string
	for _, k := range kindOrder {
		if seen[k] {
			out = append(out, string(k))
		}
	}
	return out
}

// summarize turns a report into what expressions see.
func summarize(rep *ReviewReport) ReviewVars {
	rv := ReviewVars{Ran: true, Level: "ok", Statements: rep.Statements, Kinds: rep.Kinds, Manual: rep.Manual}
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		switch f.Level {
		case "error":
			rv.Errors++
		case "warning":
			rv.Warnings++
		case "manual":
			rv.Manual = true
		}
		if !rules[f.Rule] {
			rules[f.Rule] = true
			rv.Rules = append(rv.Rules, f.Rule)
		}
	}
	switch {
	case rv.Errors > 0:
		rv.Level = "error"
	case rv.Warnings > 0 || rv.Manual:
		rv.Level = "warning"
	}
	return rv
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
