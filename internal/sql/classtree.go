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
		p.mysqlNormalised(&c)
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

// mysqlNormalised adds to a MySQL-family class what normalisation took
// out of the text the grammar read: MariaDB's CREATE OR REPLACE (which
// drops the old table or database), and SELECT ... INTO variables or
// DUMPFILE, which the grammar lacks.
func (p *Parsed) mysqlNormalised(c *Class) {
	if p.selectInto != "" && (c.Kind == KindQuery || c.SelectInto != "") {
		c.Kind, c.SelectInto = KindOther, p.selectInto
	}
	if !p.OrReplace {
		return
	}
	switch x := p.MySQL.(type) {
	case *ast.CreateTableStmt:
		c.Destroys = "CREATE OR REPLACE TABLE " + mysqlTableNames([]*ast.TableName{x.Table})
	case *ast.RenameUserStmt:
		c.Kind, c.Verb = KindOther, "RENAME USER"
	case *ast.CreateDatabaseStmt:
		c.Destroys = "CREATE OR REPLACE DATABASE " + x.Name.O
	}
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
		} else if x.Analyze && x.Stmt != nil {
			// EXPLAIN ANALYZE (MariaDB: ANALYZE) runs the statement.
			c = classifyMySQL(x.Stmt, text, d)
			c.Verb = "EXPLAIN ANALYZE"
		}
	case *ast.UseStmt:
		c.Kind, c.Verb = KindSession, "USE"
	case *ast.SetStmt:
		c.Kind, c.Verb = KindSession, "SET"
		for _, v := range x.Variables {
			name := strings.ToLower(v.Name)
			switch {
			case v.IsGlobal || v.IsInstance || strings.HasPrefix(name, "persist.") || strings.HasPrefix(name, "persist_only."):
				c.Kind, c.Global, c.Txn = KindOther, true, ""
				return c
			case name == "autocommit":
				c.Kind, c.Txn = KindTxn, "SET autocommit"
			case txnVariables[name] && c.Txn == "":
				c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
			}
		}
	case *ast.SetSessionStatesStmt, *ast.SetRoleStmt:
		c.Kind, c.Verb = KindSession, "SET"
	case *ast.SetDefaultRoleStmt:
		c.Kind, c.Verb = KindOther, "SET DEFAULT ROLE" // stored with the account
	case *ast.SetPwdStmt:
		c.Kind, c.Verb = KindOther, "SET PASSWORD"
	case *ast.PrepareStmt, *ast.DeallocateStmt:
		c.Kind, c.Verb = KindSession, firstWord(text, d)
	case *ast.BeginStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "BEGIN", "BEGIN"
		if firstWord(text, d) == "START" {
			c.Verb, c.Txn = "START TRANSACTION", "START TRANSACTION"
		}
	case *ast.CommitStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "COMMIT", "COMMIT"
	case *ast.RollbackStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "ROLLBACK", "ROLLBACK"
		if x.SavepointName != "" {
			c.Verb, c.Txn = "ROLLBACK TO SAVEPOINT", "ROLLBACK TO SAVEPOINT"
		}
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
	case *ast.RenameUserStmt:
		c.Kind, c.Verb = KindOther, "RENAME USER"
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

// txnVariables are the session variables SET TRANSACTION sets (the TiDB
// grammar reads SET TRANSACTION as an assignment to one of them).
var txnVariables = map[string]bool{
	"tx_isolation": true, "tx_isolation_one_shot": true, "tx_read_only": true,
	"transaction_isolation": true, "transaction_read_only": true,
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
			v.c.Locking = mysqlLockName(s.LockInfo.LockType)
		}
	}
	if f, ok := n.(*ast.FuncCallExpr); ok && sequenceWriters[f.FnName.L] && v.c.Kind == KindQuery {
		v.c.Kind = KindDML // NEXTVAL, SETVAL, NEXT VALUE FOR: a sequence moves
	}
	return n, false
}

// sequenceWriters are the functions that move a sequence: a query that
// calls one writes (a replica refuses it, or its sequence drifts).
var sequenceWriters = map[string]bool{"nextval": true, "setval": true}

// mysqlLockName names a locking read without its wait policy (NOWAIT,
// SKIP LOCKED, WAIT n): FOR UPDATE or FOR SHARE (LOCK IN SHARE MODE).
func mysqlLockName(t ast.SelectLockType) string {
	switch t {
	case ast.SelectLockForShare, ast.SelectLockForShareNoWait, ast.SelectLockForShareSkipLocked:
		return "FOR SHARE"
	}
	return "FOR UPDATE"
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
	sc := Scanner{src: text, d: d}
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind == Word {
			return upperWord(t.Text(text))
		}
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
		switch {
		case x.CopyStmt.Filename != "" || x.CopyStmt.IsProgram:
			c.Kind = KindOther // a file or a program on the server
		case x.CopyStmt.IsFrom:
			c.Kind = KindDML
		case x.CopyStmt.Query != nil:
			// COPY (DELETE ... RETURNING *) TO STDOUT writes.
			c.Kind = classifyPG(x.CopyStmt.Query, text).Kind
			if c.Kind != KindDML {
				c.Kind = KindQuery
			}
		default:
			c.Kind = KindQuery
		}
	case *pg.Node_SelectStmt:
		c.Kind, c.Verb = KindQuery, "SELECT"
		switch {
		case len(x.SelectStmt.ValuesLists) > 0:
			c.Verb = "VALUES"
		case firstWord(text, Postgres) == "TABLE":
			c.Verb = "TABLE"
		}
		if x.SelectStmt.IntoClause != nil {
			c.Kind, c.Verb, c.SelectInto = KindDDL, "SELECT INTO", "table"
		}
		pgReads(n, &c)
	case *pg.Node_ExplainStmt:
		c.Kind, c.Verb = KindQuery, "EXPLAIN"
		if pgExplainAnalyze(x.ExplainStmt) && x.ExplainStmt.Query != nil {
			// EXPLAIN ANALYZE runs the statement.
			c = classifyPG(x.ExplainStmt.Query, text)
			c.Verb = "EXPLAIN ANALYZE"
		}
	case *pg.Node_VariableShowStmt:
		c.Kind, c.Verb = KindQuery, "SHOW"
	case *pg.Node_VariableSetStmt:
		c.Kind, c.Verb = KindSession, firstWord(text, Postgres) // SET or RESET
		switch name := strings.ToLower(x.VariableSetStmt.Name); {
		case name == "transaction" || name == "session characteristics" || name == "transaction_isolation" || name == "transaction_read_only" || name == "transaction_deferrable":
			c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
		}
	case *pg.Node_ConstraintsSetStmt:
		c.Kind, c.Verb = KindSession, "SET"
	case *pg.Node_TransactionStmt:
		c.Kind, c.Txn = KindTxn, pgTxnName(x.TransactionStmt.Kind)
		c.Verb = c.Txn
		switch firstWord(text, Postgres) {
		case "END", "ABORT":
			c.Verb = firstWord(text, Postgres)
		}
		switch x.TransactionStmt.Kind {
		case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
			c.NonTx = true
		}
	case *pg.Node_LockStmt:
		c.Kind, c.Verb, c.Txn = KindTxn, "LOCK TABLE", "LOCK TABLE"
	case *pg.Node_CallStmt:
		// A procedure may COMMIT, which it cannot inside a transaction
		// block.
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
	case *pg.Node_AlterDatabaseStmt:
		c.Kind, c.Verb = KindDDL, "ALTER DATABASE"
		for _, o := range x.AlterDatabaseStmt.Options {
			if de := o.GetDefElem(); de != nil && de.Defname == "tablespace" {
				c.NonTx = true // moves the database's files
			}
		}
	case *pg.Node_AlterSystemStmt:
		c.Kind, c.Verb, c.NonTx, c.Global = KindOther, "ALTER SYSTEM", true, true
	case *pg.Node_CreateTableSpaceStmt, *pg.Node_DropTableSpaceStmt, *pg.Node_CheckPointStmt:
		c.Kind, c.Verb, c.NonTx = KindOther, Verb(text, Postgres), true
	case *pg.Node_ReindexStmt:
		c.Kind, c.Verb = KindDDL, "REINDEX"
		switch x.ReindexStmt.Kind {
		case pg.ReindexObjectType_REINDEX_OBJECT_SCHEMA, pg.ReindexObjectType_REINDEX_OBJECT_SYSTEM, pg.ReindexObjectType_REINDEX_OBJECT_DATABASE:
			c.NonTx = true // commits table by table
		}
		for _, p := range x.ReindexStmt.Params {
			if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
				c.NonTx = true
			}
		}
	case *pg.Node_ClusterStmt:
		c.Kind, c.Verb = KindDDL, "CLUSTER"
		c.NonTx = x.ClusterStmt.Relation == nil // every clustered table, committing each
	case *pg.Node_CreateSubscriptionStmt:
		c.Kind, c.Verb, c.NonTx = KindDDL, "CREATE SUBSCRIPTION", true // creates a replication slot
	case *pg.Node_DropSubscriptionStmt:
		c.Kind, c.Verb, c.NonTx = KindDDL, "DROP SUBSCRIPTION", true // drops its replication slot
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
		c.Kind, c.Verb = KindDDL, Verb(text, Postgres)
		for _, cmd := range x.AlterTableStmt.Cmds {
			if at := cmd.GetAlterTableCmd(); at != nil && at.Subtype == pg.AlterTableType_AT_DetachPartition {
				if pc := at.Def.GetPartitionCmd(); pc != nil && pc.Concurrent {
					c.NonTx = true
				}
			}
		}
	case *pg.Node_RenameStmt:
		c.Kind, c.Verb = KindDDL, Verb(text, Postgres)
	case *pg.Node_TruncateStmt:
		c.Kind, c.Verb = KindDDL, "TRUNCATE"
		c.Destroys = "TRUNCATE " + pgRelNames(x.TruncateStmt.Relations)
	case *pg.Node_DropStmt:
		obj := pgObjectWords(x.DropStmt.RemoveType)
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
	case *pg.Node_DropOwnedStmt:
		c.Kind, c.Verb = KindDDL, "DROP OWNED"
		var roles []string
		for _, r := range x.DropOwnedStmt.Roles {
			if rs := r.GetRoleSpec(); rs != nil {
				roles = append(roles, rs.Rolename)
			}
		}
		c.Destroys = "DROP OWNED BY " + strings.Join(roles, ", ")
	case *pg.Node_CommentStmt:
		c.Kind, c.Verb = KindDDL, "COMMENT"
	case *pg.Node_GrantStmt, *pg.Node_GrantRoleStmt, *pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_AlterRoleSetStmt, *pg.Node_DropRoleStmt:
		c.Kind, c.Verb = KindOther, Verb(text, Postgres)
	case *pg.Node_DoStmt:
		c.Kind, c.Verb = KindOther, "DO"
	case *pg.Node_DiscardStmt:
		c.Kind, c.Verb = KindSession, "DISCARD"
		c.NonTx = x.DiscardStmt.Target == pg.DiscardMode_DISCARD_ALL
	case *pg.Node_PrepareStmt, *pg.Node_DeallocateStmt:
		c.Kind, c.Verb = KindSession, Verb(text, Postgres)
	case *pg.Node_ExecuteStmt, *pg.Node_ListenStmt, *pg.Node_NotifyStmt, *pg.Node_UnlistenStmt,
		*pg.Node_DeclareCursorStmt, *pg.Node_FetchStmt, *pg.Node_ClosePortalStmt, *pg.Node_LoadStmt:
		c.Kind, c.Verb = KindOther, Verb(text, Postgres)
	default:
		c.Kind, c.Verb = KindDDL, Verb(text, Postgres)
	}
	return c
}

// pgExplainAnalyze reports whether an EXPLAIN runs its statement: the
// ANALYZE option, unless set to false.
func pgExplainAnalyze(x *pg.ExplainStmt) bool {
	for _, o := range x.Options {
		de := o.GetDefElem()
		if de == nil || de.Defname != "analyze" {
			continue
		}
		if de.Arg == nil {
			return true
		}
		var v string
		switch {
		case de.Arg.GetBoolean() != nil:
			return de.Arg.GetBoolean().Boolval
		case de.Arg.GetString_() != nil:
			v = de.Arg.GetString_().Sval
		case de.Arg.GetInteger() != nil:
			return de.Arg.GetInteger().Ival != 0
		}
		switch strings.ToLower(v) {
		case "false", "off", "no", "0":
			return false
		}
		return true
	}
	return false
}

// pgTxnName names transaction control as the SQL spells it.
func pgTxnName(k pg.TransactionStmtKind) string {
	switch k {
	case pg.TransactionStmtKind_TRANS_STMT_START:
		return "START TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "RELEASE SAVEPOINT"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return "ROLLBACK TO SAVEPOINT"
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		return "PREPARE TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return "COMMIT PREPARED"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "ROLLBACK PREPARED"
	}
	return strings.TrimPrefix(k.String(), "TRANS_STMT_") // BEGIN, COMMIT, ROLLBACK, SAVEPOINT
}

// pgObjectWords spells an object type as SQL does: MATERIALIZED VIEW,
// FOREIGN TABLE.
func pgObjectWords(t pg.ObjectType) string {
	switch t {
	case pg.ObjectType_OBJECT_MATVIEW:
		return "MATERIALIZED VIEW"
	case pg.ObjectType_OBJECT_FOREIGN_TABLE:
		return "FOREIGN TABLE"
	}
	return strings.ReplaceAll(strings.TrimPrefix(t.String(), "OBJECT_"), "_", " ")
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
		case *pg.FuncCall:
			if len(x.Funcname) > 0 && c.Kind == KindQuery {
				if s := x.Funcname[len(x.Funcname)-1].GetString_(); s != nil && sequenceWriters[s.Sval] {
					c.Kind = KindDML // nextval, setval: a sequence moves
				}
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
