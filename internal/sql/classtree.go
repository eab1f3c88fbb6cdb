package sql

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"google.golang.org/protobuf/proto"
)

// Class classifies the statement from its tree, falling back to LexClass
// for statements without one (routines, MariaDB-only syntax, comments).
func (p *Parsed) Class() Class {
	if p.class != nil {
		return *p.class
	}
	var c Class
	switch {
	case p.MySQL != nil:
		c = classifyMySQL(p.MySQL, p.Text, p.Dialect)
	case p.PG != nil:
		c = classifyPG(p.PG, p.Text)
	default:
		c = LexClass(p.Dialect, p.Text)
	}
	if p.verb != "" {
		c.Verb = p.verb
	}
	p.class = &c
	return c
}

func classifyMySQL(n ast.StmtNode, text string, d Dialect) Class {
	var c Class
	switch x := n.(type) {
	case *ast.UpdateStmt:
		c.Kind, c.Verb = KindDML, "UPDATE"
	case *ast.DeleteStmt:
		c.Kind, c.Verb = KindDML, "DELETE"
	case *ast.InsertStmt:
		c.Kind, c.Verb = KindDML, "INSERT"
		if x.IsReplace {
			c.Verb = "REPLACE"
		}
	case *ast.LoadDataStmt:
		c.Kind, c.Verb = KindDML, "LOAD DATA"
	case *ast.SelectStmt, *ast.SetOprStmt:
		c.Kind, c.Verb = KindQuery, "SELECT"
		if s, ok := x.(*ast.SelectStmt); ok {
			switch s.Kind {
			case ast.SelectStmtKindTable:
				c.Verb = "TABLE"
			case ast.SelectStmtKindValues:
				c.Verb = "VALUES"
			}
		}
		mysqlReads(n, &c)
	case *ast.ShowStmt:
		c.Kind, c.Verb = KindQuery, "SHOW"
	case *ast.ExplainStmt:
		c.Kind, c.Verb = KindQuery, "EXPLAIN"
		if _, ok := x.Stmt.(*ast.ShowStmt); ok {
			c.Verb = "DESCRIBE"
		}
	case *ast.UseStmt:
		c.Kind, c.Verb = KindSession, "USE"
	case *ast.SetStmt:
		c.Kind, c.Verb = KindSession, "SET"
		for _, v := range x.Variables {
			if strings.EqualFold(v.Name, "autocommit") {
				c.Kind, c.Txn = KindTxn, "SET autocommit"
			}
			if v.IsGlobal || v.IsInstance {
				c.Kind, c.Global, c.Txn = KindOther, true, ""
				break
			}
		}
	case *ast.SetSessionStatesStmt, *ast.SetDefaultRoleStmt, *ast.SetRoleStmt:
		c.Kind, c.Verb = KindSession, "SET"
	case *ast.SetPwdStmt:
		c.Kind, c.Verb = KindOther, "SET PASSWORD"
	case *ast.BeginStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, firstWord(text, d), "BEGIN"
		if c.Verb == "START" {
			c.Verb, c.Txn = "START TRANSACTION", "START TRANSACTION"
		}
	case *ast.CommitStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "COMMIT", "COMMIT"
	case *ast.RollbackStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "ROLLBACK", "ROLLBACK"
	case *ast.SavepointStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "SAVEPOINT", "SAVEPOINT"
	case *ast.ReleaseSavepointStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT"
	case *ast.LockTablesStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "LOCK TABLES", "LOCK TABLES"
	case *ast.UnlockTablesStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "UNLOCK TABLES", "UNLOCK TABLES"
	case *ast.CreateTableStmt:
		c.Kind, c.Verb = KindDDL, "CREATE TABLE"
	case *ast.AlterTableStmt:
		c.Kind, c.Verb = KindDDL, "ALTER TABLE"
		for _, sp := range x.Specs {
			switch sp.Tp {
			case ast.AlterTableDropPartition, ast.AlterTableTruncatePartition:
				c.Destroys = "ALTER TABLE " + mysqlTableNames([]*ast.TableName{x.Table}) + " " + strings.ToUpper(partitionVerb(sp.Tp))
			}
		}
	case *ast.CreateIndexStmt:
		c.Kind, c.Verb = KindDDL, "CREATE INDEX"
	case *ast.DropIndexStmt:
		c.Kind, c.Verb = KindDDL, "DROP INDEX"
	case *ast.RenameTableStmt:
		c.Kind, c.Verb = KindDDL, "RENAME TABLE"
	case *ast.CreateDatabaseStmt:
		c.Kind, c.Verb = KindDDL, "CREATE DATABASE"
	case *ast.AlterDatabaseStmt:
		c.Kind, c.Verb = KindDDL, "ALTER DATABASE"
	case *ast.CreateViewStmt:
		c.Kind, c.Verb = KindDDL, "CREATE VIEW"
	case *ast.CreateSequenceStmt:
		c.Kind, c.Verb = KindDDL, "CREATE SEQUENCE"
	case *ast.DropSequenceStmt:
		c.Kind, c.Verb = KindDDL, "DROP SEQUENCE"
	case *ast.DropTableStmt:
		c.Kind, c.Verb = KindDDL, "DROP TABLE"
		if x.IsView {
			c.Verb = "DROP VIEW"
		} else if x.TemporaryKeyword == ast.TemporaryNone {
			c.Destroys = "DROP TABLE " + mysqlTableNames(x.Tables)
		}
	case *ast.TruncateTableStmt:
		c.Kind, c.Verb = KindDDL, "TRUNCATE"
		c.Destroys = "TRUNCATE " + mysqlTableNames([]*ast.TableName{x.Table})
	case *ast.DropDatabaseStmt:
		c.Kind, c.Verb = KindDDL, "DROP DATABASE"
		c.Destroys = "DROP DATABASE " + x.Name.O
	case ast.DDLNode:
		c.Kind, c.Verb = KindDDL, Verb(text, d)
	default:
		c.Kind, c.Verb = KindOther, Verb(text, d)
	}
	return c
}

func partitionVerb(tp ast.AlterTableType) string {
	if tp == ast.AlterTableTruncatePartition {
		return "truncate partition"
	}
	return "drop partition"
}

// mysqlReads records SELECT ... INTO and locking reads anywhere in a query.
func mysqlReads(n ast.Node, c *Class) {
	v := &readsVisitor{c: c}
	n.Accept(v)
}

type readsVisitor struct{ c *Class }

func (v *readsVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if s, ok := n.(*ast.SelectStmt); ok {
		if s.SelectIntoOpt != nil && v.c.SelectInto == "" {
			switch s.SelectIntoOpt.Tp {
			case ast.SelectIntoOutfile:
				v.c.SelectInto = "OUTFILE"
			case ast.SelectIntoDumpfile:
				v.c.SelectInto = "DUMPFILE"
			default:
				v.c.SelectInto = "variables"
			}
			v.c.Kind = KindOther
		}
		if s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone && v.c.Locking == "" {
			v.c.Locking = strings.ToUpper(s.LockInfo.LockType.String())
		}
	}
	return n, false
}

func (v *readsVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func mysqlTableNames(ts []*ast.TableName) string {
	var names []string
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.Schema.O != "" {
			names = append(names, t.Schema.O+"."+t.Name.O)
		} else {
			names = append(names, t.Name.O)
		}
	}
	return strings.Join(names, ", ")
}

func firstWord(text string, d Dialect) string {
	if w := leadWords(text, d, 1); len(w) > 0 {
		return w[0]
	}
	return ""
}

func classifyPG(n *pg.Node, text string) Class {
	var c Class
	switch x := n.Node.(type) {
	case *pg.Node_UpdateStmt:
		c.Kind, c.Verb = KindDML, "UPDATE"
	case *pg.Node_DeleteStmt:
		c.Kind, c.Verb = KindDML, "DELETE"
	case *pg.Node_InsertStmt:
		c.Kind, c.Verb = KindDML, "INSERT"
	case *pg.Node_MergeStmt:
		c.Kind, c.Verb = KindDML, "MERGE"
	case *pg.Node_CopyStmt:
		c.Verb = "COPY"
		if x.CopyStmt.IsFrom {
			c.Kind = KindDML
		} else {
			c.Kind = KindQuery
		}
		if x.CopyStmt.Filename != "" || x.CopyStmt.IsProgram {
			c.Kind = KindOther // a file or a program on the server
		}
	case *pg.Node_SelectStmt:
		c.Kind, c.Verb = KindQuery, "SELECT"
		switch {
		case len(x.SelectStmt.ValuesLists) > 0:
			c.Verb = "VALUES"
		}
		if x.SelectStmt.IntoClause != nil {
			c.Kind, c.Verb, c.SelectInto = KindDDL, "SELECT INTO", "table"
		}
		pgReads(n, &c)
	case *pg.Node_ExplainStmt:
		c.Kind, c.Verb = KindQuery, "EXPLAIN"
	case *pg.Node_VariableShowStmt:
		c.Kind, c.Verb = KindQuery, "SHOW"
	case *pg.Node_VariableSetStmt:
		c.Kind, c.Verb = KindSession, "SET"
		switch {
		case strings.HasPrefix(x.VariableSetStmt.Name, "transaction") || x.VariableSetStmt.Name == "session_characteristics":
			c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
		}
	case *pg.Node_TransactionStmt:
		c.Kind, c.Verb = KindTxn, "TRANSACTION"
		c.Txn = strings.TrimPrefix(x.TransactionStmt.Kind.String(), "TRANS_STMT_")
		c.Verb = c.Txn
	case *pg.Node_LockStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "LOCK", "LOCK TABLE"
	case *pg.Node_CallStmt:
		c.Kind, c.Verb, c.NonTx = KindOther, "CALL", true
	case *pg.Node_VacuumStmt:
		c.Kind, c.Verb, c.NonTx = KindOther, "VACUUM", true
		if !x.VacuumStmt.IsVacuumcmd {
			c.Verb, c.NonTx = "ANALYZE", false
		}
	case *pg.Node_CreatedbStmt:
		c.Kind, c.Verb, c.NonTx = KindDDL, "CREATE DATABASE", true
	case *pg.Node_DropdbStmt:
		c.Kind, c.Verb, c.NonTx = KindDDL, "DROP DATABASE", true
		c.Destroys = "DROP DATABASE " + x.DropdbStmt.Dbname
	case *pg.Node_AlterSystemStmt:
		c.Kind, c.Verb, c.NonTx, c.Global = KindOther, "ALTER SYSTEM", true, true
	case *pg.Node_CreateTableSpaceStmt, *pg.Node_DropTableSpaceStmt, *pg.Node_CheckPointStmt:
		c.Kind, c.Verb, c.NonTx = KindOther, Verb(text, Postgres), true
	case *pg.Node_ReindexStmt:
		c.Kind, c.Verb = KindDDL, "REINDEX"
		for _, p := range x.ReindexStmt.Params {
			if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
				c.NonTx = true
			}
		}
	case *pg.Node_IndexStmt:
		c.Kind, c.Verb = KindDDL, "CREATE INDEX"
		c.NonTx = x.IndexStmt.Concurrent
	case *pg.Node_CreateStmt:
		c.Kind, c.Verb = KindDDL, "CREATE TABLE"
	case *pg.Node_CreateTableAsStmt:
		c.Kind, c.Verb = KindDDL, "CREATE TABLE AS"
		if x.CreateTableAsStmt.Objtype == pg.ObjectType_OBJECT_MATVIEW {
			c.Verb = "CREATE MATERIALIZED VIEW"
		}
	case *pg.Node_ViewStmt:
		c.Kind, c.Verb = KindDDL, "CREATE VIEW"
	case *pg.Node_AlterTableStmt:
		c.Kind, c.Verb = KindDDL, "ALTER TABLE"
		for _, cmd := range x.AlterTableStmt.Cmds {
			if at := cmd.GetAlterTableCmd(); at != nil && at.Subtype == pg.AlterTableType_AT_DetachPartition {
				c.Verb = "ALTER TABLE"
			}
		}
	case *pg.Node_RenameStmt:
		c.Kind, c.Verb = KindDDL, "RENAME"
	case *pg.Node_TruncateStmt:
		c.Kind, c.Verb = KindDDL, "TRUNCATE"
		c.Destroys = "TRUNCATE " + pgRelNames(x.TruncateStmt.Relations)
	case *pg.Node_DropStmt:
		obj := strings.ReplaceAll(strings.TrimPrefix(x.DropStmt.RemoveType.String(), "OBJECT_"), "_", " ")
		c.Kind, c.Verb = KindDDL, "DROP "+obj
		c.NonTx = x.DropStmt.Concurrent
		switch x.DropStmt.RemoveType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_FOREIGN_TABLE:
			c.Destroys = "DROP " + obj + " " + pgObjectNames(x.DropStmt.Objects)
		case pg.ObjectType_OBJECT_SCHEMA:
			if x.DropStmt.Behavior == pg.DropBehavior_DROP_CASCADE {
				c.Destroys = "DROP SCHEMA " + pgObjectNames(x.DropStmt.Objects) + " CASCADE"
			}
		}
	case *pg.Node_CommentStmt:
		c.Kind, c.Verb = KindDDL, "COMMENT"
	case *pg.Node_GrantStmt, *pg.Node_GrantRoleStmt, *pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_DropRoleStmt:
		c.Kind, c.Verb = KindOther, Verb(text, Postgres)
	case *pg.Node_DoStmt:
		c.Kind, c.Verb = KindOther, "DO"
	case *pg.Node_DiscardStmt, *pg.Node_PrepareStmt, *pg.Node_DeallocateStmt:
		c.Kind, c.Verb = KindSession, Verb(text, Postgres)
	case *pg.Node_ExecuteStmt, *pg.Node_ListenStmt, *pg.Node_NotifyStmt, *pg.Node_UnlistenStmt,
		*pg.Node_DeclareCursorStmt, *pg.Node_FetchStmt, *pg.Node_ClosePortalStmt, *pg.Node_LoadStmt:
		c.Kind, c.Verb = KindOther, Verb(text, Postgres)
	default:
		c.Kind, c.Verb = KindDDL, Verb(text, Postgres)
	}
	return c
}

// pgReads records locking clauses and data-modifying WITH anywhere in a
// query: a SELECT whose CTE writes is DML.
func pgReads(n *pg.Node, c *Class) {
	WalkPG(n, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg.SelectStmt:
			for _, l := range x.LockingClause {
				if lc := l.GetLockingClause(); lc != nil && c.Locking == "" {
					c.Locking = pgLockName(lc.Strength)
				}
			}
		case *pg.CommonTableExpr:
			switch x.Ctequery.GetNode().(type) {
			case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
				c.Kind = KindDML
			}
		}
		return true
	})
}

func pgLockName(s pg.LockClauseStrength) string {
	switch s {
	case pg.LockClauseStrength_LCS_FORKEYSHARE:
		return "FOR KEY SHARE"
	case pg.LockClauseStrength_LCS_FORSHARE:
		return "FOR SHARE"
	case pg.LockClauseStrength_LCS_FORNOKEYUPDATE:
		return "FOR NO KEY UPDATE"
	}
	return "FOR UPDATE"
}

func pgRelNames(nodes []*pg.Node) string {
	var names []string
	for _, n := range nodes {
		if rv := n.GetRangeVar(); rv != nil {
			if rv.Schemaname != "" {
				names = append(names, rv.Schemaname+"."+rv.Relname)
			} else {
				names = append(names, rv.Relname)
			}
		}
	}
	return strings.Join(names, ", ")
}

func pgObjectNames(objs []*pg.Node) string {
	var names []string
	for _, o := range objs {
		if l := o.GetList(); l != nil {
			var parts []string
			for _, it := range l.Items {
				if s := it.GetString_(); s != nil {
					parts = append(parts, s.Sval)
				}
			}
			names = append(names, strings.Join(parts, "."))
		} else if s := o.GetString_(); s != nil {
			names = append(names, s.Sval)
		}
	}
	return strings.Join(names, ", ")
}
