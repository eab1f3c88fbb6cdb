package sql

import (
	"errors"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// restoreFlags render MySQL-family text the way the server reads it with
// the session settings the callers of Render use (backslash escapes on,
// ANSI_QUOTES off): keywords upper case, names in backquotes (doubled
// inside), strings in single quotes with quotes doubled and backslashes
// escaped, no comments at all.
const restoreFlags = format.RestoreStringSingleQuotes | format.RestoreStringEscapeBackslash |
	format.RestoreKeyWordUppercase | format.RestoreNameBackQuotes |
	format.RestoreSpacesAroundBinaryOperation | format.RestoreStringWithoutDefaultCharset

// maxAliasBytes is the longest alias MariaDB and MySQL accept.
const maxAliasBytes = 256

// Render returns the statement re-rendered from its checked tree: the text
// a caller that checked the tree (the query console, exports, reports,
// EXPLAIN on demand) sends to the server instead of the text as written.
// Whatever the grammar read — comments the server would run or ignore,
// quotes opened inside them, version comments — the server then runs
// exactly the tree that was checked, with no comment left in it.
//
// MySQL family: the TiDB tree restored; select fields without an alias get
// their text as written as alias, so result columns keep the names the
// server would have given them (literals and column references keep
// theirs; a field whose text holds a comment is named by its rendering). PostgreSQL: pg_query's deparser.
//
// It refuses (errkind.Invalid) a statement without a tree, one whose text
// was normalised (the grammar did not read what the server would), and
// one the renderer cannot write.
func (p *Parsed) Render() (string, error) {
	switch {
	case p.Rewritten:
		why := "syntax the grammar lacks"
		if len(p.Notes) > 0 {
			why = strings.Join(p.Notes, "; ")
		}
		return "", errkind.New(errkind.Invalid, "the statement cannot be re-rendered exactly: %s", why)
	case p.MySQL != nil:
		keepColumnNames(p.MySQL)
		var b strings.Builder
		if err := p.MySQL.Restore(format.NewRestoreCtx(restoreFlags, &b)); err != nil {
			return "", errkind.New(errkind.Invalid, "the statement cannot be re-rendered: %v", err)
		}
		return b.String(), nil
	case p.PG != nil:
		if why := pgLossy(p); why != "" {
			return "", errkind.New(errkind.Invalid, "the statement cannot be re-rendered exactly: %s", why)
		}
		tree := &pg.ParseResult{Version: p.pgTree.GetVersion(), Stmts: []*pg.RawStmt{{Stmt: p.PG}}}
		out, err := pg.Deparse(tree)
		if err != nil {
			return "", errkind.New(errkind.Invalid, "the statement cannot be re-rendered: %v", err)
		}
		return out, nil
	}
	return "", errkind.Wrap(errkind.Invalid, errors.New("the statement has no syntax tree to render"))
}

// keepColumnNames gives each top-level select field without an alias its
// text as written as alias (a column reference keeps its own name).
func keepColumnNames(n ast.StmtNode) {
	var fields *ast.FieldList
	switch x := n.(type) {
	case *ast.SelectStmt:
		fields = x.Fields
	case *ast.SetOprStmt:
		if x.SelectList != nil && len(x.SelectList.Selects) > 0 {
			if s, ok := x.SelectList.Selects[0].(*ast.SelectStmt); ok {
				fields = s.Fields
			}
		}
	}
	if fields == nil {
		return
	}
	for _, f := range fields.Fields {
		if f.WildCard != nil || f.AsName.L != "" || f.Expr == nil {
			continue
		}
		switch f.Expr.(type) {
		case *ast.ColumnNameExpr, ast.ValueExpr:
			continue // the server names these by the column or the value
		}
		text := strings.TrimSpace(f.Text())
		if text == "" || strings.Contains(text, "/*") || strings.Contains(text, "*/") || strings.Contains(text, "--") || strings.Contains(text, "#") {
			// Comments in the field: name it by its rendering instead.
			var b strings.Builder
			if f.Expr.Restore(format.NewRestoreCtx(restoreFlags, &b)) != nil {
				continue
			}
			text = b.String()
		}
		if len(text) > maxAliasBytes {
			continue
		}
		f.AsName = ast.NewCIStr(text)
	}
}

// pgLossy says why pg_query's deparser cannot print p exactly, "" when it
// can. Its protobuf reader turns an empty string field into NULL: a string
// constant of an expression keeps its value (A_Const), but the string
// fields of utility statements do not, and the deparser then prints
// another statement (RENAME VALUE of the empty label becomes ADD VALUE,
// COPY FROM the empty file name becomes FROM STDIN) or dereferences NULL
// and kills the process (PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK
// PREPARED with an empty id, LOAD, CREATE CONVERSION, ALTER SUBSCRIPTION
// CONNECTION and ALTER TYPE ADD VALUE with an empty string; found by
// FuzzParsePostgres). Queries and DML print exactly; a utility statement
// with an empty string literal is refused before deparsing.
func pgLossy(p *Parsed) string {
	switch p.PG.GetNode().(type) {
	case *pg.Node_SelectStmt, *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt,
		*pg.Node_MergeStmt, *pg.Node_ExplainStmt:
		return ""
	}
	for _, t := range Tokens(p.Text, Postgres) {
		if t.Kind == String && emptyPGString(t.Text(p.Text)) {
			return "pg_query cannot print an empty string literal in this statement"
		}
	}
	return ""
}

// emptyPGString reports whether a PostgreSQL string token ('...' or
// $tag$...$tag$) holds nothing.
func emptyPGString(tok string) bool {
	if tok == "''" {
		return true
	}
	if len(tok) >= 2 && tok[0] == '$' {
		if i := strings.IndexByte(tok[1:], '$'); i >= 0 {
			tag := tok[:i+2]
			return tok == tag+tag
		}
	}
	return false
}
