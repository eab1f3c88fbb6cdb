package flows

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	pgquery "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the MySQL parser

	"github.com/dbfleet/dbfleet/internal/engine"
)

// statement is one statement of a script.
type statement struct {
	SQL  string
	Line int // where it starts in the script, 1-based
	Col  int
	// Class is select, dml, ddl, tx (transaction control) or other.
	Class string
	// Transactional: the statement can run inside BEGIN ... COMMIT, so a
	// run interrupted before COMMIT is known to have changed nothing.
	Transactional bool
	// ParseErr is the parser's complaint, when it has one.
	ParseErr *Finding
}

func isMySQLFamily(k engine.Kind) bool {
	return k == engine.MariaDB || k == engine.MySQL || k == engine.TiDB
}

// splitScript cuts a script into statements at semicolons outside quotes,
// comments and (PostgreSQL) dollar quotes, and classifies each with the
// engine's own grammar.
func splitScript(k engine.Kind, script string) []statement {
	var out []statement
	pg := k == engine.Postgres
	line, col := 1, 1
	start, startLine, startCol := 0, 1, 1
	inStmt := false
	advance := func(s string) {
		for _, r := range s {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	flush := func(end int) {
		text := strings.TrimSpace(script[start:end])
		if text != "" && !onlyComments(text, pg) {
			out = append(out, statement{SQL: text, Line: startLine, Col: startCol})
		}
	}
	i := 0
	for i < len(script) {
		c := script[i]
		comment := (c == '-' && strings.HasPrefix(script[i:], "--")) || (c == '#' && !pg) || (c == '/' && strings.HasPrefix(script[i:], "/*"))
		if !inStmt && !isSpaceByte(c) && !comment {
			inStmt = true
			start, startLine, startCol = i, line, col
		}
		n := 1
		switch {
		case c == '\'' || c == '"' || (c == '`' && !pg):
			escapes := (!pg && c != '`') || (pg && c == '\'' && i > 0 && (script[i-1] == 'E' || script[i-1] == 'e'))
			n = quotedLen(script[i:], c, escapes)
		case c == '-' && strings.HasPrefix(script[i:], "--"), c == '#' && !pg:
			n = strings.IndexByte(script[i:], '\n')
			if n < 0 {
				n = len(script) - i
			}
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			n = blockCommentLen(script[i:], pg)
		case c == '$' && pg:
			if tag := dollarTag(script[i:]); tag != "" {
				if j := strings.Index(script[i+len(tag):], tag); j >= 0 {
					n = len(tag) + j + len(tag)
				} else {
					n = len(script) - i
				}
			}
		case c == ';':
			flush(i)
			inStmt = false
		}
		advance(script[i : i+n])
		i += n
	}
	if inStmt {
		flush(len(script))
	}
	for i := range out {
		classify(k, &out[i])
	}
	return out
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// quotedLen is the length of the quoted string at s[0]; backslash escapes
// count when escapes is true; doubled quotes always do.
func quotedLen(s string, q byte, escapes bool) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if escapes {
				i++
			}
		case q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

func blockCommentLen(s string, nested bool) int {
	depth := 0
	for i := 0; i < len(s)-1; i++ {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			i++
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

var dollarRE = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)?\$`)

func dollarTag(s string) string { return dollarRE.FindString(s) }

func onlyComments(s string, pg bool) bool {
	for len(s) > 0 {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return true
		case strings.HasPrefix(s, "--") || (!pg && strings.HasPrefix(s, "#")):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return true
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			s = s[blockCommentLen(s, pg):]
		default:
			return false
		}
	}
	return true
}

var tidbPos = regexp.MustCompile(`line (\d+) column (\d+)`)

// classify parses one statement with the engine's grammar.
func classify(k engine.Kind, st *statement) {
	if isMySQLFamily(k) {
		p := tidb.New()
		node, err := p.ParseOneStmt(st.SQL, "", "")
		if err != nil {
			f := &Finding{Line: st.Line, Column: st.Col, Rule: "syntax", Level: "error", Message: cleanTiDBError(err)}
			if m := tidbPos.FindStringSubmatch(err.Error()); m != nil {
				l, _ := strconv.Atoi(m[1])
				c, _ := strconv.Atoi(m[2])
				f.Line, f.Column = st.Line+l-1, c
				if l == 1 {
					f.Column = st.Col + c
				}
			}
			st.ParseErr, st.Class = f, "other"
			return
		}
		switch n := node.(type) {
		case *ast.SelectStmt, *ast.SetOprStmt:
			st.Class = "select"
		case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
			st.Class, st.Transactional = "dml", true
		case *ast.BeginStmt, *ast.CommitStmt, *ast.RollbackStmt:
			st.Class = "tx"
		case *ast.SetStmt:
			st.Class = "other"
			for _, v := range n.Variables {
				if strings.EqualFold(v.Name, "autocommit") {
					st.Class = "tx"
				}
			}
		case ast.DDLNode:
			st.Class = "ddl"
		default:
			st.Class = "other"
		}
		return
	}
	res, err := pgquery.Parse(st.SQL)
	if err != nil {
		f := &Finding{Line: st.Line, Column: st.Col, Rule: "syntax", Level: "error", Message: err.Error()}
		var pe *pgparser.Error
		if errors.As(err, &pe) && pe.Cursorpos > 0 {
			l, c := lineCol(st.SQL, pe.Cursorpos-1)
			f.Line = st.Line + l - 1
			f.Column = c
			if l == 1 {
				f.Column = st.Col + c - 1
			}
		}
		st.ParseErr, st.Class = f, "other"
		return
	}
	if len(res.Stmts) == 0 {
		st.Class = "other"
		return
	}
	st.Transactional = true
	switch n := res.Stmts[0].Stmt.Node.(type) {
	case *pgquery.Node_SelectStmt:
		st.Class = "select"
		if n.SelectStmt.IntoClause != nil {
			st.Class = "ddl"
		}
	case *pgquery.Node_InsertStmt, *pgquery.Node_UpdateStmt, *pgquery.Node_DeleteStmt, *pgquery.Node_MergeStmt:
		st.Class = "dml"
	case *pgquery.Node_TransactionStmt:
		st.Class, st.Transactional = "tx", false
	case *pgquery.Node_VacuumStmt, *pgquery.Node_CreatedbStmt, *pgquery.Node_DropdbStmt, *pgquery.Node_AlterSystemStmt,
		*pgquery.Node_CreateTableSpaceStmt, *pgquery.Node_DropTableSpaceStmt:
		st.Class, st.Transactional = "other", false
	case *pgquery.Node_IndexStmt:
		st.Class = "ddl"
		if n.IndexStmt.Concurrent {
			st.Transactional = false
		}
	case *pgquery.Node_ReindexStmt:
		st.Class = "ddl"
		for _, p := range n.ReindexStmt.Params {
			if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
				st.Transactional = false
			}
		}
	case *pgquery.Node_VariableSetStmt:
		st.Class = "other"
	default:
		st.Class = "ddl"
	}
}

// lineCol maps a byte offset in s to a 1-based line and column.
func lineCol(s string, off int) (int, int) {
	if off > len(s) {
		off = len(s)
	}
	line, last := 1, 0
	for i := 0; i < off; i++ {
		if s[i] == '\n' {
			line, last = line+1, i+1
		}
	}
	return line, utf8.RuneCountInString(s[last:off]) + 1
}

func cleanTiDBError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "You have an error in your SQL syntax"); i >= 0 {
		msg = msg[i:]
	}
	return msg
}

// parseCheck is the review used when no SQL review engine is wired: every
// statement must parse with the engine's grammar, and transaction control
// is refused because each statement runs in its own transaction.
func parseCheck(k engine.Kind, script string) *ReviewReport {
	stmts := splitScript(k, script)
	rep := &ReviewReport{Statements: len(stmts), Reviewer: "parse check (no SQL review engine configured)"}
	kinds := map[string]bool{}
	for i, st := range stmts {
		kinds[st.Class] = true
		if st.ParseErr != nil {
			f := *st.ParseErr
			f.Statement = i + 1
			rep.Findings = append(rep.Findings, f)
			continue
		}
		if st.Class == "tx" {
			rep.Findings = append(rep.Findings, Finding{Statement: i + 1, Line: st.Line, Column: st.Col, Rule: "transaction-control", Level: "error",
				Message: "transaction control statement: dbfleet runs each statement in a transaction of its own; remove BEGIN/COMMIT/ROLLBACK/SET autocommit"})
		}
	}
	if len(stmts) == 0 {
		rep.Findings = append(rep.Findings, Finding{Line: 1, Column: 1, Rule: "empty", Level: "error", Message: "no SQL statement"})
	}
	for _, c := range []string{"ddl", "dml", "select", "tx", "other"} {
		if kinds[c] {
			rep.Kinds = append(rep.Kinds, c)
		}
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
