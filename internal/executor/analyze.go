package executor

import (
	"errors"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the MySQL parser

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// stmt is one statement of a script, parsed and classified.
type stmt struct {
	Text      string // as written, without its delimiter (sql.Split)
	Line, Col int    // where Text starts in the script; columns count characters
	Seq       int
	Kind      string // KindDML...
	Verb      string // "UPDATE", "ALTER TABLE"...
	// txn names transaction control, which scripts may not contain.
	txn string
	// destroys names what the statement destroys (needs BackupDone).
	destroys string
	// nonTx: PostgreSQL statements that cannot run in a transaction block.
	nonTx bool

	my     ast.StmtNode // MySQL AST; nil when the MySQL grammar does not parse it
	myErr  error
	parsed bool     // MySQL: my and myErr are set
	pg     *pg.Node // PostgreSQL parse tree
}

// parseScript splits and classifies a script. Errors name the statement,
// line and column; a script without statements is an error.
func parseScript(d sql.Dialect, src string) ([]*stmt, error) {
	return splitScript(d, src, true)
}

// splitScript splits a script with sql.Split, as the database's own
// client would, and classifies each statement. With keep, MySQL
// statements keep their syntax tree; without it they are parsed to be
// classified and the tree is dropped (a large script's trees would take
// far more memory than its text): the runner parses each again just
// before it runs (ensureParsed). What the executor cannot run is an
// errkind.Invalid error naming its line and column: a quote or comment
// the script leaves open, a psql meta-command, a PostgreSQL statement
// its grammar rejects.
func splitScript(d sql.Dialect, src string, keep bool) ([]*stmt, error) {
	split := sql.Split(src, d)
	if len(split) == 0 {
		return nil, errkind.New(errkind.Invalid, "the script has no statement")
	}
	lines := sql.NewLineIndex(src)
	if last := split[len(split)-1]; !last.Terminated {
		if off, what, open := sql.Unterminated(last.Text, d); open {
			l, c := lines.Position(last.Start + off)
			return nil, errkind.New(errkind.Invalid, "line %d, column %d: unterminated %s", l, c, what)
		}
	}
	out := make([]*stmt, 0, len(split))
	var p *parser.Parser
	for i, st := range split {
		s := &stmt{Text: st.Text, Line: st.Line, Col: st.Column, Seq: i + 1}
		if st.Client {
			return nil, errkind.New(errkind.Invalid, "%s: %s is a psql command, not SQL: the executor sends statements to the server only", s.where(), strings.Fields(st.Text)[0])
		}
		if d == sql.Postgres {
			parsed, err := sql.Parse(d, st.Text)
			if err != nil {
				return nil, positioned(lines, st, s, err)
			}
			if parsed.PG == nil {
				return nil, errkind.New(errkind.Invalid, "%s: no statement, only comments", s.where())
			}
			s.pg = parsed.PG
			classifyPG(s)
		} else {
			if p == nil {
				p = parser.New()
			}
			s.parseMySQL(p)
			if !keep {
				s.my, s.parsed = nil, false
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// positioned reports a statement the front end refused (a syntax error,
// a statement too long or too deeply nested) at its line and column in
// the script.
func positioned(lines *sql.LineIndex, st sql.Statement, s *stmt, err error) error {
	off := -1
	var le *sql.LimitError
	if se, ok := sql.AsSyntax(err); ok {
		off = se.Off
	} else if errors.As(err, &le) {
		off = le.Off
	}
	if off < 0 {
		return errkind.New(errkind.Invalid, "%s: %v", s.where(), err)
	}
	l, c := lines.Position(st.Start + off)
	return errkind.New(errkind.Invalid, "line %d, column %d: %v", l, c, err)
}

// parseMySQL parses and classifies one MySQL statement.
func (s *stmt) parseMySQL(p *parser.Parser) {
	nodes, _, err := p.Parse(s.Text, "", "")
	switch {
	case err != nil:
		s.myErr = err
	case len(nodes) == 1:
		s.my = nodes[0]
	default:
		s.myErr = fmt.Errorf("parsed as %d statements", len(nodes))
	}
	s.parsed = true
	classifyMySQL(s)
}

// ensureParsed parses a MySQL statement split without its tree.
func (s *stmt) ensureParsed(d sql.Dialect) {
	if d.IsMySQLFamily() && !s.parsed {
		s.parseMySQL(parser.New())
	}
}

// release drops a MySQL statement's tree once it ran.
func (s *stmt) release(d sql.Dialect) {
	if d.IsMySQLFamily() {
		s.my, s.parsed = nil, false
	}
}

// where is "statement 3 (line 7, column 1)".
func (s *stmt) where() string {
	return fmt.Sprintf("statement %d (line %d, column %d)", s.Seq, s.Line, s.Col)
}

// checkScript refuses what dbfleet will not run: transaction control
// (each statement or chunk is its own transaction) and destructive
// statements without a declared backup.
func checkScript(stmts []*stmt, o Options) error {
	var errs []string
	for _, s := range stmts {
		if s.txn != "" {
			errs = append(errs, fmt.Sprintf("%s: %s is not allowed: dbfleet commits each statement (or chunk) on its own; remove transaction control from the script", s.where(), s.txn))
		}
		if s.destroys != "" && !o.BackupDone {
			errs = append(errs, fmt.Sprintf("%s: %s is refused unless a backup was taken first: run the backup step, then set backup_done (--backup-done)", s.where(), s.destroys))
		}
		if len(errs) >= 10 {
			break
		}
	}
	if len(errs) > 0 {
		return errkind.New(errkind.Invalid, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

func classifyMySQL(s *stmt) {
	if s.my == nil {
		classifyMySQLText(s)
		return
	}
	switch n := s.my.(type) {
	case *ast.UpdateStmt:
		s.Kind, s.Verb = KindDML, "UPDATE"
	case *ast.DeleteStmt:
		s.Kind, s.Verb = KindDML, "DELETE"
	case *ast.InsertStmt:
		s.Kind, s.Verb = KindDML, "INSERT"
		if n.IsReplace {
			s.Verb = "REPLACE"
		}
	case *ast.SelectStmt, *ast.SetOprStmt, *ast.ShowStmt, *ast.ExplainStmt:
		s.Kind, s.Verb = KindQuery, "SELECT"
		if sel, ok := n.(*ast.SelectStmt); ok && sel.SelectIntoOpt != nil {
			s.Kind = KindOther
		}
		switch n.(type) {
		case *ast.ShowStmt:
			s.Verb = "SHOW"
		case *ast.ExplainStmt:
			s.Verb = "EXPLAIN"
		}
	case *ast.UseStmt:
		s.Kind, s.Verb = KindSession, "USE"
	case *ast.SetStmt:
		s.Kind, s.Verb = KindSession, "SET"
		for _, v := range n.Variables {
			if strings.EqualFold(v.Name, "autocommit") {
				s.txn = "SET autocommit"
			}
			if v.IsGlobal {
				s.Kind = KindOther
			}
		}
	case *ast.BeginStmt:
		s.Kind, s.Verb, s.txn = KindOther, "BEGIN", "BEGIN/START TRANSACTION"
	case *ast.CommitStmt:
		s.Kind, s.Verb, s.txn = KindOther, "COMMIT", "COMMIT"
	case *ast.RollbackStmt:
		s.Kind, s.Verb, s.txn = KindOther, "ROLLBACK", "ROLLBACK"
	case *ast.SavepointStmt, *ast.ReleaseSavepointStmt:
		s.Kind, s.Verb, s.txn = KindOther, "SAVEPOINT", "SAVEPOINT"
	case *ast.LockTablesStmt, *ast.UnlockTablesStmt:
		s.Kind, s.Verb, s.txn = KindOther, "LOCK TABLES", "LOCK/UNLOCK TABLES"
	case *ast.CreateTableStmt:
		s.Kind, s.Verb = KindDDL, "CREATE TABLE"
	case *ast.AlterTableStmt:
		s.Kind, s.Verb = KindDDL, "ALTER TABLE"
	case *ast.CreateIndexStmt:
		s.Kind, s.Verb = KindDDL, "CREATE INDEX"
	case *ast.DropIndexStmt:
		s.Kind, s.Verb = KindDDL, "DROP INDEX"
	case *ast.RenameTableStmt:
		s.Kind, s.Verb = KindDDL, "RENAME TABLE"
	case *ast.CreateDatabaseStmt:
		s.Kind, s.Verb = KindDDL, "CREATE DATABASE"
	case *ast.CreateViewStmt:
		s.Kind, s.Verb = KindDDL, "CREATE VIEW"
	case *ast.DropTableStmt:
		s.Kind, s.Verb = KindDDL, "DROP TABLE"
		if n.IsView {
			s.Verb = "DROP VIEW"
		} else if n.TemporaryKeyword == ast.TemporaryNone {
			s.destroys = "DROP TABLE " + tableNames(n.Tables)
		}
	case *ast.TruncateTableStmt:
		s.Kind, s.Verb = KindDDL, "TRUNCATE"
		s.destroys = "TRUNCATE " + tableNames([]*ast.TableName{n.Table})
	case *ast.DropDatabaseStmt:
		s.Kind, s.Verb = KindDDL, "DROP DATABASE"
		s.destroys = "DROP DATABASE " + n.Name.O
	case ast.DDLNode:
		s.Kind, s.Verb = KindDDL, firstWords(s.Text, 2)
	default:
		s.Kind, s.Verb = KindOther, firstWords(s.Text, 1)
	}
}

// classifyMySQLText classifies what the MySQL grammar does not parse
// (MariaDB-only syntax, routines, compound statements) by its first words.
func classifyMySQLText(s *stmt) {
	w := strings.Fields(strings.ToUpper(stripLeadingComments(s.Text)))
	at := func(i int) string {
		if i < len(w) {
			return strings.Trim(w[i], ";")
		}
		return ""
	}
	s.Kind, s.Verb = KindOther, at(0)
	switch at(0) {
	case "UPDATE", "DELETE", "INSERT", "REPLACE":
		s.Kind = KindDML
	case "SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "WITH", "VALUES", "TABLE":
		s.Kind = KindQuery
	case "USE":
		s.Kind = KindSession
	case "CREATE", "ALTER", "RENAME", "DROP", "TRUNCATE":
		s.Kind, s.Verb = KindDDL, strings.TrimSpace(at(0)+" "+at(1))
		switch {
		case at(0) == "TRUNCATE":
			s.destroys = "TRUNCATE"
		case at(0) == "DROP" && (at(1) == "TABLE" || at(1) == "DATABASE" || at(1) == "SCHEMA"):
			s.destroys = "DROP " + at(1)
		}
	case "BEGIN":
		if at(1) == "" || at(1) == "WORK" {
			s.txn = "BEGIN"
		}
	case "START":
		if at(1) == "TRANSACTION" {
			s.txn = "START TRANSACTION"
		}
	case "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		s.txn = at(0)
	case "LOCK", "UNLOCK":
		if at(1) == "TABLES" || at(1) == "TABLE" {
			s.txn = at(0) + " TABLES"
		}
	}
}

func stripLeadingComments(s string) string {
	if t := sql.Tokens(s, sql.MySQL); len(t) > 0 {
		return s[t[0].Off:]
	}
	return ""
}

func firstWords(s string, n int) string {
	w := strings.Fields(strings.ToUpper(stripLeadingComments(s)))
	return strings.Join(w[:min(n, len(w))], " ")
}

func tableNames(ts []*ast.TableName) string {
	var names []string
	for _, t := range ts {
		if t.Schema.O != "" {
			names = append(names, t.Schema.O+"."+t.Name.O)
		} else {
			names = append(names, t.Name.O)
		}
	}
	return strings.Join(names, ", ")
}

func classifyPG(s *stmt) {
	switch n := s.pg.Node.(type) {
	case *pg.Node_UpdateStmt:
		s.Kind, s.Verb = KindDML, "UPDATE"
	case *pg.Node_DeleteStmt:
		s.Kind, s.Verb = KindDML, "DELETE"
	case *pg.Node_InsertStmt:
		s.Kind, s.Verb = KindDML, "INSERT"
	case *pg.Node_MergeStmt:
		s.Kind, s.Verb = KindDML, "MERGE"
	case *pg.Node_SelectStmt:
		s.Kind, s.Verb = KindQuery, "SELECT"
		if n.SelectStmt.IntoClause != nil {
			s.Kind, s.Verb = KindDDL, "SELECT INTO"
		}
	case *pg.Node_ExplainStmt:
		s.Kind, s.Verb = KindQuery, "EXPLAIN"
	case *pg.Node_VariableShowStmt:
		s.Kind, s.Verb = KindQuery, "SHOW"
	case *pg.Node_VariableSetStmt:
		s.Kind, s.Verb = KindSession, "SET"
	case *pg.Node_TransactionStmt:
		s.Kind, s.Verb = KindOther, "TRANSACTION"
		s.txn = strings.TrimPrefix(n.TransactionStmt.Kind.String(), "TRANS_STMT_")
	case *pg.Node_LockStmt:
		s.Kind, s.Verb, s.txn = KindOther, "LOCK", "LOCK TABLE"
	case *pg.Node_CallStmt:
		s.Kind, s.Verb, s.nonTx = KindOther, "CALL", true
	case *pg.Node_VacuumStmt:
		s.Kind, s.Verb, s.nonTx = KindOther, "VACUUM", true
	case *pg.Node_CreatedbStmt:
		s.Kind, s.Verb, s.nonTx = KindDDL, "CREATE DATABASE", true
	case *pg.Node_DropdbStmt:
		s.Kind, s.Verb, s.nonTx = KindDDL, "DROP DATABASE", true
		s.destroys = "DROP DATABASE " + n.DropdbStmt.Dbname
	case *pg.Node_AlterSystemStmt:
		s.Kind, s.Verb, s.nonTx = KindOther, "ALTER SYSTEM", true
	case *pg.Node_CreateTableSpaceStmt, *pg.Node_DropTableSpaceStmt, *pg.Node_CheckPointStmt:
		s.Kind, s.Verb, s.nonTx = KindOther, firstWords(s.Text, 2), true
	case *pg.Node_ReindexStmt:
		s.Kind, s.Verb = KindDDL, "REINDEX"
		for _, p := range n.ReindexStmt.Params {
			if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
				s.nonTx = true
			}
		}
	case *pg.Node_IndexStmt:
		s.Kind, s.Verb = KindDDL, "CREATE INDEX"
		s.nonTx = n.IndexStmt.Concurrent
	case *pg.Node_CreateStmt:
		s.Kind, s.Verb = KindDDL, "CREATE TABLE"
	case *pg.Node_AlterTableStmt:
		s.Kind, s.Verb = KindDDL, "ALTER TABLE"
	case *pg.Node_RenameStmt:
		s.Kind, s.Verb = KindDDL, "RENAME"
	case *pg.Node_TruncateStmt:
		s.Kind, s.Verb = KindDDL, "TRUNCATE"
		s.destroys = "TRUNCATE " + pgRelNames(n.TruncateStmt.Relations)
	case *pg.Node_DropStmt:
		s.Kind, s.Verb = KindDDL, "DROP "+strings.TrimPrefix(n.DropStmt.RemoveType.String(), "OBJECT_")
		s.nonTx = n.DropStmt.Concurrent
		switch n.DropStmt.RemoveType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_FOREIGN_TABLE:
			s.destroys = "DROP TABLE"
		case pg.ObjectType_OBJECT_SCHEMA:
			if n.DropStmt.Behavior == pg.DropBehavior_DROP_CASCADE {
				s.destroys = "DROP SCHEMA ... CASCADE"
			}
		}
	case *pg.Node_GrantStmt, *pg.Node_GrantRoleStmt, *pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_DropRoleStmt:
		s.Kind, s.Verb = KindOther, firstWords(s.Text, 1)
	case *pg.Node_DoStmt:
		s.Kind, s.Verb = KindOther, "DO"
	default:
		s.Kind, s.Verb = KindDDL, firstWords(s.Text, 2)
	}
}

func pgRelNames(nodes []*pg.Node) string {
	var names []string
	for _, n := range nodes {
		if rv := n.GetRangeVar(); rv != nil {
			names = append(names, pgRangeVarName(rv))
		}
	}
	return strings.Join(names, ", ")
}

func pgRangeVarName(rv *pg.RangeVar) string {
	if rv.Schemaname != "" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}
