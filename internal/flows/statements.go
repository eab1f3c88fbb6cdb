package flows

import (
	"errors"
	"fmt"

	"github.com/dbfleet/dbfleet/internal/engine"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// Work orders read SQL only through internal/sql: it splits a script,
// parses each statement and classifies it in the one vocabulary (query,
// dml, ddl, session, txn, other). What follows is flows' own use of that
// output: positions for findings, a summary of a script, and whether the
// built-in executor can wrap a statement in a transaction.

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

// errorAt is where a statement's parse error is in the script (1-based
// line and column), and its message.
func (st statement) errorAt(lines *sqlfe.LineIndex) (line, col int, msg string) {
	line, col = st.Line, st.Column
	msg = st.Err.Error()
	var le *sqlfe.LimitError
	if se, ok := sqlfe.AsSyntax(st.Err); ok {
		msg = se.Msg
		if se.Off >= 0 {
			line, col = lines.Position(st.Start + se.Off)
		}
	} else if errors.As(st.Err, &le) && le.Off >= 0 {
		line, col = lines.Position(st.Start + le.Off)
	}
	return line, col, msg
}

// transactional reports whether the built-in executor can run the
// statement inside BEGIN ... COMMIT, so that a run interrupted before
// COMMIT is known to have changed nothing: on PostgreSQL every statement
// but transaction control and those that refuse a transaction block; on
// MariaDB/MySQL only DML (DDL commits implicitly). A statement that did
// not parse is not.
func (st statement) transactional(d sqlfe.Dialect) bool {
	if st.Err != nil || st.Client {
		return false
	}
	if d == sqlfe.Postgres {
		return st.Class.Kind != sqlfe.KindTxn && !st.Class.NonTx
	}
	return st.Class.Kind == sqlfe.KindDML
}

// plainQuery reports whether a class is a plain read: SELECT, TABLE or
// VALUES, writing nowhere (no INTO) and locking nothing.
func plainQuery(c sqlfe.Class) bool {
	return c.Kind == sqlfe.KindQuery && (c.Verb == "SELECT" || c.Verb == "TABLE" || c.Verb == "VALUES") &&
		c.SelectInto == "" && c.Locking == ""
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

// parseCheck is the review used when no SQL review engine is wired: every
// statement must parse with the engine's grammar, and transaction control
// and client commands are refused because each statement runs in a
// transaction of its own on a server connection.
func parseCheck(k engine.Kind, script string) *ReviewReport {
	stmts := readScript(dialect(k), script)
	lines := sqlfe.NewLineIndex(script)
	rep := &ReviewReport{Statements: len(stmts), Kinds: scriptKinds(stmts), Reviewer: "parse check (no SQL review engine configured)"}
	for i, st := range stmts {
		f := Finding{Statement: i + 1, Line: st.Line, Column: st.Column, Level: "error"}
		switch {
		case st.Client:
			f.Rule, f.Message = "client-command", fmt.Sprintf("%s is a client command, not SQL: the server cannot run it", firstWords(st.Text))
		case st.Err != nil:
			f.Rule = "syntax"
			if sqlfe.IsLimit(st.Err) {
				f.Rule = "limit"
			}
			f.Line, f.Column, f.Message = st.errorAt(lines)
		case st.Class.Kind == sqlfe.KindTxn:
			f.Rule, f.Message = "transaction-control", fmt.Sprintf("transaction control statement (%s): dbfleet runs each statement in a transaction of its own; remove BEGIN/COMMIT/ROLLBACK/SET autocommit", st.Class.Verb)
		case st.Parsed.Manual != "":
			f.Rule, f.Level, f.Message = "manual-review", "manual", st.Parsed.Manual
			rep.Manual = true
		default:
			continue
		}
		rep.Findings = append(rep.Findings, f)
	}
	if len(stmts) == 0 {
		rep.Findings = append(rep.Findings, Finding{Line: 1, Column: 1, Rule: "empty", Level: "error", Message: "no SQL statement"})
	}
	return rep
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
